package energy

// ContractShape names the delivery profile of a green-power contract.
type ContractShape string

const (
	// ContractFlat delivers MW at every hour.
	ContractFlat ContractShape = "flat"
	// ContractSolar delivers MW × a solar profile (the Solar parameters).
	ContractSolar ContractShape = "solar"
	// ContractWind delivers MW × a wind profile (the Wind parameters).
	ContractWind ContractShape = "wind"
)

// DefaultContractPriceCNYPerKWh is the assumed green-power contract price
// [A]: Shandong's coal-fired benchmark on-grid price, 0.3949 CNY/kWh [K],
// which wind and solar PPAs are usually settled around.
const DefaultContractPriceCNYPerKWh = 0.3949

// ContractSpec is a green-power purchase agreement (PPA): renewable energy
// delivered to the site that counts as renewable supply. The site takes
// what it needs (after its own solar and wind) and pays PriceCNYPerKWh for
// the energy it takes; energy it cannot use is not taken and shows as
// curtailed.
type ContractSpec struct {
	// Name identifies the contract in reports.
	Name string `yaml:"name" json:"name"`
	// MW is the contracted capacity: the delivered power for shape "flat",
	// the nameplate the profile scales for "solar" and "wind".
	MW float64 `yaml:"mw" json:"mw"`
	// Shape is "flat", "solar" or "wind".
	Shape ContractShape `yaml:"shape" json:"shape"`
	// PriceCNYPerKWh is paid per kWh taken.
	PriceCNYPerKWh float64 `yaml:"price_cny_per_kwh" json:"price_cny_per_kwh"`
	// Solar holds the profile parameters for shape "solar"; its mw must be 0
	// (the contract's mw scales the profile).
	Solar SolarSpec `yaml:"solar" json:"solar"`
	// Wind holds the profile parameters for shape "wind"; its mw must be 0.
	Wind WindSpec `yaml:"wind" json:"wind"`
}

// DefaultContractSpec is a flat contract of 0 MW at the default price, with
// default solar and onshore wind profiles ready for the other shapes.
func DefaultContractSpec() ContractSpec {
	return ContractSpec{
		Shape:          ContractFlat,
		PriceCNYPerKWh: DefaultContractPriceCNYPerKWh,
		Solar:          DefaultSolarSpec(),
		Wind:           DefaultWindSpec(),
	}
}

// Validate checks mw >= 0, the shape, the price in [0,10] CNY/kWh and the
// profile's parameters.
func (s ContractSpec) Validate() error {
	c := &checker{prefix: "contract"}
	s.validate(c)
	return c.err()
}

func (s ContractSpec) validate(c *checker) {
	c.nonNeg("mw", s.MW)
	c.oneOf("shape", string(s.Shape), string(ContractFlat), string(ContractSolar), string(ContractWind))
	c.in("price_cny_per_kwh", s.PriceCNYPerKWh, 0, 10)
	switch s.Shape {
	case ContractSolar:
		sc := c.sub("solar")
		if s.Solar.MW != 0 {
			sc.fail("mw", s.Solar.MW, "must be 0 (the contract's mw scales the profile)")
		}
		s.Solar.validate(sc, false)
		c.merge(sc)
	case ContractWind:
		wc := c.sub("wind")
		if s.Wind.MW != 0 {
			wc.fail("mw", s.Wind.MW, "must be 0 (the contract's mw scales the profile)")
		}
		s.Wind.validate(wc, false)
		c.merge(wc)
	}
}
