package pricing

import "math/bits"

// u128 is an unsigned 128-bit integer. Prices × quantities exceed int64
// long before they exceed any sensible bill (10¹² tokens × $60/M is 6×10¹⁹
// pico-USD), so intermediate values are kept in 128 bits and only the final
// result has to fit in int64. It is hand-rolled over math/bits rather than
// math/big because Cost is on every request's path and must not allocate.
type u128 struct{ hi, lo uint64 }

// mul64 returns a × b; it cannot overflow.
func mul64(a, b uint64) u128 {
	hi, lo := bits.Mul64(a, b)
	return u128{hi: hi, lo: lo}
}

// add returns x + y and whether the sum overflowed 128 bits.
func (x u128) add(y u128) (u128, bool) {
	lo, c := bits.Add64(x.lo, y.lo, 0)
	hi, c := bits.Add64(x.hi, y.hi, c)
	return u128{hi: hi, lo: lo}, c != 0
}

// mul returns x × m and whether the product overflowed 128 bits.
func (x u128) mul(m uint64) (u128, bool) {
	hh, hl := bits.Mul64(x.hi, m)
	lh, ll := bits.Mul64(x.lo, m)
	hi, c := bits.Add64(hl, lh, 0)
	return u128{hi: hi, lo: ll}, hh != 0 || c != 0
}

// divCeil returns ceil(x / d) and whether the division was exact. d must
// not be zero; callers pass constants or validated positive values.
func (x u128) divCeil(d uint64) (u128, bool) {
	qhi := x.hi / d
	qlo, rem := bits.Div64(x.hi%d, x.lo, d)
	q := u128{hi: qhi, lo: qlo}
	if rem == 0 {
		return q, true
	}
	q, _ = q.add(u128{lo: 1}) // cannot overflow: q < x when d > 1
	return q, false
}

// int64 returns x as an int64 and whether it fits.
func (x u128) int64() (int64, bool) {
	if x.hi != 0 || x.lo > 1<<63-1 {
		return 0, false
	}
	return int64(x.lo), true
}
