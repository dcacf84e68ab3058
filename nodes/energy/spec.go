package energy

import (
	"fmt"

	"github.com/suanli/suanli/nodes"
)

// SiteSpec is everything the energy model of one site needs. Scenario
// files can decode into it: its yaml/json names are snake_case with units,
// and decoding fills every field the input leaves out with its default
// (see DefaultSiteSpec and the UnmarshalJSON/UnmarshalYAML methods).
type SiteSpec struct {
	// Lat and Lon are the site's coordinates in degrees (north, east); the
	// clear-sky solar model needs them.
	Lat float64 `yaml:"lat" json:"lat"`
	Lon float64 `yaml:"lon" json:"lon"`
	// PUE turns IT power into facility power.
	PUE PUESpec `yaml:"pue" json:"pue"`
	// Solar and Wind are on-site generation (mw 0: none).
	Solar SolarSpec `yaml:"solar" json:"solar"`
	Wind  WindSpec  `yaml:"wind" json:"wind"`
	// Contracts are green-power purchase agreements, used after on-site
	// generation, in order.
	Contracts []ContractSpec `yaml:"contracts" json:"contracts"`
	// Battery stores renewable surplus (capacity_mwh 0: none).
	Battery BatterySpec `yaml:"battery" json:"battery"`
	// Tariff prices grid energy; Carbon gives its intensity.
	Tariff TariffSpec `yaml:"tariff" json:"tariff"`
	Carbon CarbonSpec `yaml:"carbon" json:"carbon"`
}

// DefaultSiteSpec is a site with PUE 1.25, no generation, no contracts, no
// battery, Shandong's 2024 tariff and Shandong's 2023 grid carbon with the
// assumed hourly shape; every model's parameters are at their defaults, so
// setting a capacity (solar.mw, wind.mw, battery.capacity_mwh and
// battery.power_mw) is enough to add it.
func DefaultSiteSpec() SiteSpec {
	return SiteSpec{
		PUE:     DefaultPUESpec(),
		Solar:   DefaultSolarSpec(),
		Wind:    DefaultWindSpec(),
		Battery: DefaultBatterySpec(),
		Tariff:  DefaultTariffSpec(),
		Carbon:  DefaultCarbonSpec(),
	}
}

// SpecFor is DefaultSiteSpec placed at a site: its coordinates and its
// design PUE.
func SpecFor(site nodes.Site) SiteSpec {
	s := DefaultSiteSpec()
	s.Lat, s.Lon = site.Lat, site.Lon
	if site.PUE > 0 {
		s.PUE.Design = site.PUE
	}
	return s
}

// Validate checks every part; field paths are relative to the site spec,
// e.g. "battery.soc_min 1.2 must be in [0,1]" or
// "contracts[0].price_cny_per_kwh -1 must be in [0,10]". All problems are
// reported (errors.Join of *FieldError; see FieldErrors).
func (s SiteSpec) Validate() error {
	c := &checker{}
	s.validate(c)
	return c.err()
}

func (s SiteSpec) validate(c *checker) {
	c.in("lat", s.Lat, -90, 90)
	c.in("lon", s.Lon, -180, 180)
	parts := []struct {
		name string
		f    func(*checker)
	}{
		{"pue", s.PUE.validate},
		{"solar", func(c *checker) { s.Solar.validate(c, true) }},
		{"wind", func(c *checker) { s.Wind.validate(c, true) }},
		{"battery", s.Battery.validate},
		{"tariff", s.Tariff.validate},
		{"carbon", s.Carbon.validate},
	}
	for _, p := range parts {
		sc := c.sub(p.name)
		p.f(sc)
		c.merge(sc)
	}
	for i, k := range s.Contracts {
		sc := c.sub(fmt.Sprintf("contracts[%d]", i))
		k.validate(sc)
		c.merge(sc)
	}
}
