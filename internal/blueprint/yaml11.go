package blueprint

import (
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
)

// authentik reads blueprints with PyYAML's SafeLoader, which follows YAML
// 1.1: a plain (unquoted) scalar such as yes, on, 0777, 1_000, 12:30 or
// 2026-04-01 is a bool, an int or a date there, where YAML 1.2 (and so the
// YAML library stagehand uses) reads a string. These are PyYAML's implicit
// resolvers (yaml/resolver.py), so that Decode types plain scalars as
// authentik does, and Encode quotes every string authentik would read as
// anything but that string.

var (
	yaml11Bool = regexp.MustCompile(`^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$`)
	yaml11Int  = regexp.MustCompile(`^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`)
	// A float has a dot (1e5 is a string); the exponent has a sign.
	yaml11Float     = regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`)
	yaml11Null      = regexp.MustCompile(`^(?:~|null|Null|NULL|)$`)
	yaml11Timestamp = regexp.MustCompile(`^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$`)
)

// plainKind is what PyYAML makes of a plain scalar.
type plainKind int

const (
	plainString plainKind = iota
	plainNull
	plainBool
	plainInt
	plainFloat
	plainTimestamp
	plainMerge // <<, a merge key
	plainValue // =, the YAML 1.1 value key
)

// resolvePlain is the type PyYAML's SafeLoader gives the plain scalar s.
func resolvePlain(s string) plainKind {
	switch {
	case yaml11Null.MatchString(s):
		return plainNull
	case yaml11Bool.MatchString(s):
		return plainBool
	case yaml11Int.MatchString(s):
		return plainInt
	case yaml11Float.MatchString(s):
		return plainFloat
	case yaml11Timestamp.MatchString(s):
		return plainTimestamp
	case s == "<<":
		return plainMerge
	case s == "=":
		return plainValue
	}
	return plainString
}

// needsQuotes reports whether s, written as a plain scalar, would not be
// read back by authentik as the string s.
func needsQuotes(s string) bool { return resolvePlain(s) != plainString }

// parseBool11 is PyYAML's construct_yaml_bool.
func parseBool11(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "yes", "true", "on":
		return true, nil
	case "no", "false", "off":
		return false, nil
	}
	return false, fmt.Errorf("%s is not a bool", Quote(s))
}

// parseInt11 is PyYAML's construct_yaml_int, limited to int64: binary 0b,
// octal with a leading 0, hex 0x, sexagesimal 1:30, and _ anywhere.
func parseInt11(s string) (int64, error) {
	v := strings.ReplaceAll(s, "_", "")
	sign := int64(1)
	if v != "" && (v[0] == '-' || v[0] == '+') {
		if v[0] == '-' {
			sign = -1
		}
		v = v[1:]
	}
	outOfRange := fmt.Errorf("%s is out of range for a 64-bit integer", Show(s))
	// digits are the digits in base, without leading zeros: more than 64
	// of them cannot be an int64 in any base, and are not read (reading a
	// million digits takes seconds).
	digits := func(d string, base int) (*big.Int, bool, error) {
		if d == "" {
			return nil, false, nil
		}
		d = strings.TrimLeft(d, "0")
		if d == "" {
			return new(big.Int), true, nil
		}
		if len(d) > 64 {
			return nil, false, outOfRange
		}
		n, ok := new(big.Int).SetString(d, base)
		return n, ok, nil
	}
	var n *big.Int
	var ok bool
	var err error
	switch {
	case v == "0":
		return 0, nil
	case strings.HasPrefix(v, "0b"):
		n, ok, err = digits(v[2:], 2)
	case strings.HasPrefix(v, "0x"):
		n, ok, err = digits(v[2:], 16)
	case strings.HasPrefix(v, "0"):
		n, ok, err = digits(v[1:], 8)
	case strings.Contains(v, ":"):
		n, ok = big.NewInt(0), true
		for _, part := range strings.Split(v, ":") {
			d, err := strconv.ParseInt(part, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s is not an int", Quote(s))
			}
			n.Mul(n, big.NewInt(60)).Add(n, big.NewInt(d))
			if n.BitLen() > 64 {
				return 0, outOfRange
			}
		}
	default:
		n, ok, err = digits(v, 10)
	}
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fmt.Errorf("%s is not an int", Quote(s))
	}
	n.Mul(n, big.NewInt(sign))
	if !n.IsInt64() {
		return 0, fmt.Errorf("%s is out of range for a 64-bit integer", Show(s))
	}
	return n.Int64(), nil
}

// parseFloat11 is PyYAML's construct_yaml_float.
func parseFloat11(s string) (float64, error) {
	v := strings.ToLower(strings.ReplaceAll(s, "_", ""))
	sign := 1.0
	if v != "" && (v[0] == '-' || v[0] == '+') {
		if v[0] == '-' {
			sign = -1
		}
		v = v[1:]
	}
	switch {
	case v == ".inf":
		return sign * math.Inf(1), nil
	case v == ".nan":
		return math.NaN(), nil
	case strings.Contains(v, ":"):
		parts := strings.Split(v, ":")
		f := 0.0
		for _, p := range parts {
			d, err := strconv.ParseFloat(p, 64)
			if err != nil {
				return 0, fmt.Errorf("%s is not a float", Quote(s))
			}
			f = f*60 + d
		}
		return sign * f, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, fmt.Errorf("%s is not a float", Quote(s))
	}
	return sign * f, nil
}

// formatFloat writes f so that PyYAML reads it back as the same float: with
// a dot (PyYAML takes 1e-07 for a string), never an exponent.
func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return ".nan"
	case math.IsInf(f, 1):
		return ".inf"
	case math.IsInf(f, -1):
		return "-.inf"
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}
