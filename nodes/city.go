package nodes

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// City is an origin of workloads and a place sites stand in.
type City struct {
	Code   string  `json:"code"` // short code, e.g. "JN"
	Name   string  `json:"name"` // English name
	NameZH string  `json:"name_zh,omitempty"`
	Lat    float64 `json:"lat"` // degrees
	Lon    float64 `json:"lon"` // degrees
}

// shandongCities are the 16 prefecture-level cities of Shandong (Laiwu merged
// into Jinan in 2019). Coordinates are city centres, about ±0.05°; a test
// checks them against ../shared/data/shandong/cities.csv.
var shandongCities = []City{
	{"JN", "Jinan", "济南", 36.651, 117.120},
	{"QD", "Qingdao", "青岛", 36.067, 120.383},
	{"ZB", "Zibo", "淄博", 36.813, 118.055},
	{"ZZ", "Zaozhuang", "枣庄", 34.810, 117.323},
	{"DY", "Dongying", "东营", 37.434, 118.675},
	{"YT", "Yantai", "烟台", 37.464, 121.448},
	{"WF", "Weifang", "潍坊", 36.707, 119.162},
	{"JNG", "Jining", "济宁", 35.415, 116.587},
	{"TA", "Taian", "泰安", 36.200, 117.087},
	{"WH", "Weihai", "威海", 37.513, 122.120},
	{"RZ", "Rizhao", "日照", 35.417, 119.527},
	{"LY", "Linyi", "临沂", 35.104, 118.356},
	{"DZ", "Dezhou", "德州", 37.436, 116.357},
	{"LC", "Liaocheng", "聊城", 36.457, 115.985},
	{"BZ", "Binzhou", "滨州", 37.383, 117.971},
	{"HZ", "Heze", "菏泽", 35.234, 115.481},
}

// ShandongCities returns a copy of the built-in 16 cities of Shandong, in a
// fixed order (the index of a city in this slice is its origin index in a
// latency table built from it).
func ShandongCities() []City { return append([]City(nil), shandongCities...) }

// CityCodes returns the codes of cities, in order.
func CityCodes(cities []City) []string {
	out := make([]string, len(cities))
	for i, c := range cities {
		out[i] = c.Code
	}
	return out
}

// LookupCity finds a city by code or English name (case-insensitive).
func LookupCity(cities []City, key string) (int, error) {
	for i, c := range cities {
		if strings.EqualFold(c.Code, key) || strings.EqualFold(c.Name, key) {
			return i, nil
		}
	}
	codes := CityCodes(cities)
	sort.Strings(codes)
	return -1, fmt.Errorf("unknown city %q (allowed: %s)", key, strings.Join(codes, ", "))
}

// earthRadiusKm is the mean Earth radius used by the haversine formula.
const earthRadiusKm = 6371.0

// DistanceKm is the great-circle distance between two points in degrees,
// by the haversine formula.
func DistanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	const rad = math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKm * math.Asin(math.Min(1, math.Sqrt(a)))
}
