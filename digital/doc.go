// Package digital is semcom's conventional digital baseline and its information-theoretic reference rows:
// closed-form bounds (AWGN capacity, Rayleigh block-fading outage, the Polyanskiy–Poor–Verdú normal
// approximation) and the practical chain: a uniform b-bit quantiser (quant.go), LDPC codes from alist files
// with a systematic encoder and sum-product / normalised min-sum decoders (ldpc.go, codes/), Gray QAM with
// exact and max-log LLRs (qam.go), and a Monte-Carlo BER/BLER simulator for an MCS (ber.go). It is pure Go
// (no torch, no cgo) so the trainer and the CLI only call it.
//
// Convention throughout: SNR γ is Es/N0 per complex channel use, unit average symbol energy, N0 = 1/γ;
// all rates and bit counts are in bits (log base 2).
package digital
