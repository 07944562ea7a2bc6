package httpapi

import (
	"errors"
	"math"

	"github.com/stagehand-dev/stagehand/internal/python"
)

// pyFloat is a floating-point field (a Django FloatField: a captcha stage's
// score thresholds, the OTP throttling factors), written as authentik writes
// it: Python's json module writes a float as its repr, so 1 is "1.0", 0.5 is
// "0.5", 0.00001 is "1e-05" and 1e16 is "1e+16". Go would write "1", "0.5",
// "0.00001" and "10000000000000000": the same numbers, other bytes.
type pyFloat float64

// MarshalJSON writes f as Python's repr(float) does (python.Float).
func (f pyFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		// Python would write NaN or Infinity, which is not JSON (and which
		// DRF's strict renderer refuses). Admission keeps them out.
		return nil, errors.New("httpapi: a float that is not finite has no JSON form")
	}
	return []byte(python.Float(v)), nil
}
