package digital

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// MCS is a modulation and coding scheme: Gray QAM with an LDPC code (nil: uncoded).
type MCS struct {
	Name string
	Mod  Modulation
	Code *Code
}

// InfoBitsPerSymbol is the spectral efficiency, bits/symbol × code rate.
func (m MCS) InfoBitsPerSymbol() float64 {
	r := 1.0
	if m.Code != nil {
		r = m.Code.Rate()
	}
	return float64(m.Mod.BitsPerSymbol()) * r
}

// MCSTable builds every {modulation × shipped 802.11n n = 648 code} pair, R = 1/2, 2/3, 3/4, in
// increasing spectral efficiency order per modulation.
func MCSTable() ([]MCS, error) {
	var out []MCS
	for _, mod := range Modulations {
		for _, name := range []string{"wifi_n648_r12", "wifi_n648_r23", "wifi_n648_r34"} {
			c, err := LoadCode(name)
			if err != nil {
				return nil, err
			}
			out = append(out, MCS{Name: mod.String() + "/" + name, Mod: mod, Code: c})
		}
	}
	return out, nil
}

// SimOptions is the Monte-Carlo stopping rule and decoder setting of SimulateBER.
type SimOptions struct {
	TargetBitErrors int64 // stop once this many information-bit errors were seen
	MaxBits         int64 // or once this many information bits were sent
	BlocksPerBatch  int   // codewords simulated per batch (decoding is batched)
	Alg             Algorithm
	MaxIter         int
	Alpha           float64 // min-sum normalisation
	MaxLog          bool    // max-log instead of exact LLRs
	IntervalAlpha   float64 // Clopper–Pearson intervals at level 1 − IntervalAlpha (0 means 0.05)
	Seed            uint64
}

// SimResult counts information-bit and block errors, with Clopper–Pearson intervals.
type SimResult struct {
	EsN0dB               float64
	Bits, BitErrors      int64
	Blocks, BlockErrors  int64
	BER, BERLo, BERHi    float64
	BLER, BLERLo, BLERHi float64
}

// SimulateBER sends random information bits through mcs over y = x + n, n ~ CN(0, N0), N0 = 10^{−Es/N0/10}
// (Es/N0 per complex symbol, unit symbol energy), demaps to LLRs and decodes; no interleaver. A block is
// one codeword (uncoded: one batch row of 1008 bits).
func SimulateBER(mcs MCS, esN0dB float64, o SimOptions) (SimResult, error) {
	if o.TargetBitErrors <= 0 || o.MaxBits <= 0 {
		return SimResult{}, fmt.Errorf("digital: ber %s: target errors %d and max bits %d, expected both > 0", mcs.Name, o.TargetBitErrors, o.MaxBits)
	}
	if o.BlocksPerBatch <= 0 {
		o.BlocksPerBatch = 16
	}
	level := o.IntervalAlpha
	if level == 0 {
		level = 0.05
	}
	con, err := NewConstellation(mcs.Mod)
	if err != nil {
		return SimResult{}, err
	}
	n, k := 1008, 1008
	var dec *Decoder
	if mcs.Code != nil {
		n, k = mcs.Code.N, mcs.Code.K
		if dec, err = NewDecoder(mcs.Code, o.Alg, o.MaxIter, o.Alpha); err != nil {
			return SimResult{}, err
		}
	}
	if n%con.Bits != 0 {
		return SimResult{}, fmt.Errorf("digital: ber %s: code length %d is not a multiple of %d bits per symbol", mcs.Name, n, con.Bits)
	}
	B := o.BlocksPerBatch
	info := make([]uint8, B*k)
	cw := make([]uint8, B*n)
	syms := make([]complex128, B*n/con.Bits)
	llr := make([]float64, B*n)
	out := make([]uint8, B*n)
	n0 := math.Pow(10, -esN0dB/10)
	sd := math.Sqrt(n0 / 2)
	r := rand.New(rand.NewPCG(o.Seed, 0xbe5))
	res := SimResult{EsN0dB: esN0dB}
	for res.BitErrors < o.TargetBitErrors && res.Bits < o.MaxBits {
		for i := range info {
			info[i] = uint8(r.Uint32() & 1)
		}
		if dec != nil {
			if err := mcs.Code.Encode(info, cw); err != nil {
				return res, err
			}
		} else {
			copy(cw, info)
		}
		if err := con.Map(cw, syms); err != nil {
			return res, err
		}
		for i := range syms {
			syms[i] += complex(sd*r.NormFloat64(), sd*r.NormFloat64())
		}
		if err := con.Demap(syms, n0, !o.MaxLog, llr); err != nil {
			return res, err
		}
		if dec != nil {
			if _, _, err := dec.Decode(llr, out); err != nil {
				return res, err
			}
		} else {
			for i, l := range llr {
				out[i] = 0
				if l < 0 {
					out[i] = 1
				}
			}
		}
		for b := 0; b < B; b++ {
			e := int64(0)
			for j := 0; j < k; j++ {
				pos := j
				if dec != nil {
					pos = mcs.Code.info[j]
				}
				if out[b*n+pos] != info[b*k+j] {
					e++
				}
			}
			res.BitErrors += e
			if e > 0 {
				res.BlockErrors++
			}
		}
		res.Bits += int64(B * k)
		res.Blocks += int64(B)
	}
	res.BER = float64(res.BitErrors) / float64(res.Bits)
	res.BLER = float64(res.BlockErrors) / float64(res.Blocks)
	if res.BERLo, res.BERHi, err = ClopperPearson(res.BitErrors, res.Bits, level); err != nil {
		return res, err
	}
	if res.BLERLo, res.BLERHi, err = ClopperPearson(res.BlockErrors, res.Blocks, level); err != nil {
		return res, err
	}
	return res, nil
}
