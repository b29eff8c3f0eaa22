package config

import (
	"strings"
	"testing"
)

// TestChannelCSIAndErasureKeys: the CSI and erasure keys load, default to perfect CSI with no losses, and
// bad values give one line naming the key and what was expected.
func TestChannelCSIAndErasureKeys(t *testing.T) {
	e, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if ch := e.Channel; ch.CSI != "perfect" || ch.Pilots != 4 || ch.CSIErrorVar != 0 || ch.Erasure != (Erasure{}) {
		t.Fatalf("defaults: csi %q pilots %d csi_error_var %v erasure %+v", ch.CSI, ch.Pilots, ch.CSIErrorVar, ch.Erasure)
	}
	e, err = Load("", []string{"channel.csi=mmse", "channel.pilots=2", "channel.erasure.p_bg=0.4"})
	if err != nil {
		t.Fatal(err)
	}
	if ch := e.Channel; ch.CSI != "mmse" || ch.Pilots != 2 || ch.Erasure.PBG != 0.4 {
		t.Fatalf("overrides not applied: %+v", ch)
	}
	for _, c := range []struct {
		set  []string
		want []string
	}{
		{[]string{"channel.csi=blind"}, []string{"channel.csi", "perfect, ls, mmse"}},
		{[]string{"channel.csi=ls", "channel.pilots=0"}, []string{"channel.pilots", "≥ 1"}},
		{[]string{"channel.pilots=-3"}, []string{"channel.pilots", "≥ 1"}},
		{[]string{"channel.csi_error_var=-0.1", "channel.csi=ls"}, []string{"channel.csi_error_var", "≥ 0"}},
		{[]string{"channel.csi_error_var=0.1"}, []string{"channel.csi_error_var", "csi: ls or mmse"}},
		{[]string{"channel.erasure.p=1.5"}, []string{"channel.erasure.p", "[0, 1]"}},
		{[]string{"channel.erasure.p=-0.01"}, []string{"channel.erasure.p", "[0, 1]"}},
		{[]string{"channel.erasure.p_gb=2", "channel.erasure.p_bg=0.5"}, []string{"channel.erasure.p_gb", "[0, 1]"}},
		{[]string{"channel.erasure.p_bg=-1"}, []string{"channel.erasure.p_bg", "[0, 1]"}},
		{[]string{"channel.erasure.p=0.1", "channel.erasure.p_gb=0.1", "channel.erasure.p_bg=0.1"}, []string{"channel.erasure.p_gb", "one erasure model"}},
		{[]string{"channel.erasure.p_gb=0.1"}, []string{"channel.erasure.p_bg", "bad state"}},
		// In range but not yet applied by the trainer: refused rather than silently ignored.
		{[]string{"channel.erasure.p=0.1"}, []string{"channel.erasure", "not yet applied"}},
		{[]string{"channel.erasure.p_gb=0.1", "channel.erasure.p_bg=0.4"}, []string{"channel.erasure", "not yet applied"}},
	} {
		_, err := Load("", c.set)
		if err == nil {
			t.Errorf("%v: accepted", c.set)
			continue
		}
		msg := err.Error()
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%v: error %q lacks %q", c.set, msg, w)
			}
		}
		if strings.Count(strings.TrimSpace(msg), "\n") != 0 {
			t.Errorf("%v: error is not one line: %q", c.set, msg)
		}
	}
}
