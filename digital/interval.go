package digital

import (
	"fmt"

	"gonum.org/v1/gonum/stat/distuv"
)

// ClopperPearson is the exact two-sided binomial confidence interval at level 1−alpha for errors out of
// trials (Clopper & Pearson, Biometrika 1934): lower = Beta⁻¹(α/2; e, n−e+1) (0 when e = 0),
// upper = Beta⁻¹(1−α/2; e+1, n−e) (1 when e = n).
func ClopperPearson(errors, trials int64, alpha float64) (lo, hi float64, err error) {
	if trials <= 0 || errors < 0 || errors > trials {
		return 0, 0, fmt.Errorf("digital: clopper-pearson: %d errors in %d trials, expected 0 ≤ errors ≤ trials, trials > 0", errors, trials)
	}
	if !(alpha > 0 && alpha < 1) {
		return 0, 0, fmt.Errorf("digital: clopper-pearson: alpha = %g, expected 0 < alpha < 1", alpha)
	}
	e, n := float64(errors), float64(trials)
	lo, hi = 0, 1
	if errors > 0 {
		lo = distuv.Beta{Alpha: e, Beta: n - e + 1}.Quantile(alpha / 2)
	}
	if errors < trials {
		hi = distuv.Beta{Alpha: e + 1, Beta: n - e}.Quantile(1 - alpha/2)
	}
	return lo, hi, nil
}
