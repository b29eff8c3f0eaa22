package digital

import "testing"

// Uncoded 16-QAM through SimulateBER lands on Cho & Yoon (99.9% Clopper–Pearson interval); the stopping
// rule stops within one batch of the target error count.
func TestSimulateUncodedMatchesClosedForm(t *testing.T) {
	mcs := MCS{Name: "16qam/uncoded", Mod: QAM16}
	res, err := SimulateBER(mcs, 12, SimOptions{TargetBitErrors: 2000, MaxBits: 1 << 22, BlocksPerBatch: 8, IntervalAlpha: 1e-3, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := UncodedBER(QAM16, DBToLinear(12))
	t.Logf("16-QAM 12 dB: BER %.4g [%.4g, %.4g], closed form %.4g, %d bits", res.BER, res.BERLo, res.BERHi, want, res.Bits)
	if want < res.BERLo || want > res.BERHi {
		t.Errorf("interval [%g, %g] misses the closed form %g", res.BERLo, res.BERHi, want)
	}
	if res.BitErrors < 2000 || res.Bits > 1<<22 {
		t.Errorf("stopping rule: %d errors in %d bits", res.BitErrors, res.Bits)
	}
	if res.BitErrors > 2000+8*1008 {
		t.Errorf("stopping rule overshot: %d errors, target 2000, batch of %d bits", res.BitErrors, 8*1008)
	}
}

// Coded QPSK with the 802.11n R = 1/2 code: error-free at Es/N0 = 6 dB (stopped by the bit limit), and a
// bad option is refused.
func TestSimulateCodedHighSNR(t *testing.T) {
	table, err := MCSTable()
	if err != nil {
		t.Fatal(err)
	}
	if len(table) != 12 {
		t.Fatalf("MCSTable has %d entries, expected 4 modulations × 3 rates", len(table))
	}
	mcs := table[3] // qpsk/wifi_n648_r12
	if mcs.Mod != QPSK || mcs.InfoBitsPerSymbol() != 1 {
		t.Fatalf("table[3] = %s, %g bits/symbol; expected qpsk at rate 1/2 (1 bit/symbol)", mcs.Name, mcs.InfoBitsPerSymbol())
	}
	res, err := SimulateBER(mcs, 6, SimOptions{TargetBitErrors: 10, MaxBits: 20000, Alg: MinSum, MaxIter: 30, Alpha: 0.8, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.BitErrors != 0 || res.Bits < 20000 {
		t.Errorf("QPSK R=1/2 at 6 dB: %d errors in %d bits, expected none (up to the bit limit)", res.BitErrors, res.Bits)
	}
	if _, err := SimulateBER(mcs, 6, SimOptions{MaxBits: 10}); err == nil {
		t.Error("SimulateBER accepted a zero target error count")
	}
}

// Coded bits per second on one core (b.N codewords of QPSK + wifi n=648 R=1/2 at 2 dB Es/N0).
func BenchmarkSimulateCoded(b *testing.B) {
	for _, alg := range []struct {
		name string
		a    Algorithm
	}{{"sumproduct", SumProduct}, {"minsum", MinSum}} {
		b.Run(alg.name, func(b *testing.B) {
			c, _ := LoadCode("wifi_n648_r12")
			mcs := MCS{Name: "qpsk/r12", Mod: QPSK, Code: c}
			blocks := int64(b.N)
			b.ResetTimer()
			_, err := SimulateBER(mcs, 2, SimOptions{TargetBitErrors: 1 << 60, MaxBits: blocks * int64(c.K), BlocksPerBatch: 1, Alg: alg.a, MaxIter: 20, Alpha: 0.8, Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(blocks*int64(c.N))/b.Elapsed().Seconds(), "codedbits/s")
		})
	}
}
