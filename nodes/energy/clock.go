package energy

import "time"

// CST is China Standard Time, UTC+8 all year (China has no daylight saving
// time). It is a fixed zone, so no tzdata is needed. Every local-time rule
// in this package (tariff hours, seasons, solar clock time, carbon shape)
// reads times in CST, whatever zone the time.Time carries.
var CST = time.FixedZone("CST", cstOffsetSec)

const (
	cstOffsetSec = 8 * 3600
	secPerDay    = 86400
	// cstMeridianDeg is the longitude CST is the mean solar time of.
	cstMeridianDeg = 120.0
)

// clock is a time broken down in China Standard Time.
type clock struct {
	day   int64   // days since 1970-01-01 (local)
	year  int     // calendar year
	month int     // 1..12
	yday  int     // day of year, 1..366
	hour  float64 // fractional hour of day, [0,24)
	hi    int     // whole hour of day, 0..23
}

// cumDays[m] is the number of days before month m+1 in a non-leap year.
var cumDays = [13]int{0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365}

// monthDays is the number of days of each month in a non-leap year.
var monthDays = [12]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// localClock breaks t down in CST without time.Time.In, by the civil-from-
// days algorithm (proleptic Gregorian calendar); it does not allocate.
func localClock(t time.Time) clock {
	sec := t.Unix() + cstOffsetSec
	day := floorDiv(sec, secPerDay)
	sod := sec - day*secPerDay
	var c clock
	c.day = day
	c.hour = (float64(sod) + float64(t.Nanosecond())/1e9) / 3600
	c.hi = int(sod / 3600)

	z := day + 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if mp >= 10 {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	c.year = int(y)
	c.month = int(m)
	c.yday = cumDays[m-1] + int(d)
	if m > 2 && isLeap(c.year) {
		c.yday++
	}
	return c
}

// hours returns d in fractional hours.
func hours(d time.Duration) float64 { return d.Hours() }
