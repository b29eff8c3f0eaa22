package main

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/semcom/semcom/digital"
)

// TestDigitalBERCommand: uncoded 16-QAM at 10 dB prints a BER whose interval holds the closed form; bad
// input exits 2 naming the flag.
func TestDigitalBERCommand(t *testing.T) {
	out, code := semcom(t, nil, "digital", "ber", "--modulation", "16qam", "--code", "none", "--snr", "10", "--max-bits", "40000")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	var row []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "10 ") {
			row = strings.Fields(l)
		}
	}
	if len(row) < 6 {
		t.Fatalf("no 10 dB row:\n%s", out)
	}
	lo, _ := strconv.ParseFloat(strings.Trim(row[4], "[,"), 64)
	hi, _ := strconv.ParseFloat(strings.Trim(row[5], "],"), 64)
	if want, _ := digital.UncodedBER(digital.QAM16, math.Pow(10, 1)); want < lo || want > hi {
		t.Fatalf("closed form %.4g outside the printed interval [%g, %g]:\n%s", want, lo, hi, out)
	}
	for _, c := range [][]string{{"--modulation", "8psk"}, {"--code", "nosuchcode"}, {"--snr", "x"}, {"--decoder", "viterbi"}, {"--max-bits", "0"}} {
		if msg, code := semcom(t, nil, append([]string{"digital", "ber"}, c...)...); code != exitInvalid || !strings.Contains(msg, c[0]) {
			t.Errorf("%v: exit %d\n%s", c, code, msg)
		}
	}
}
