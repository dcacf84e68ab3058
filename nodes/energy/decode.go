package energy

import (
	"bytes"
	"encoding/json"
)

// Decoding fills defaults: each spec type's UnmarshalJSON and UnmarshalYAML
// start from its Default…Spec and overlay what the input gives, so a
// scenario may write only what differs ("battery: {capacity_mwh: 20,
// power_mw: 10}"). The same holds inside slices (each contract starts from
// DefaultContractSpec). JSON decoding rejects unknown fields.
// UnmarshalYAML has the signature gopkg.in/yaml.v3 (and v2) call for
// custom unmarshalers, so this package needs no yaml import; yaml.v3's
// KnownFields setting carries through it.

func strictJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

func isNull(b []byte) bool { return string(bytes.TrimSpace(b)) == "null" }

// UnmarshalJSON decodes over DefaultSiteSpec.
func (s *SiteSpec) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		return nil
	}
	type plain SiteSpec
	p := plain(DefaultSiteSpec())
	if err := strictJSON(b, &p); err != nil {
		return err
	}
	*s = SiteSpec(p)
	return nil
}

// UnmarshalYAML decodes over DefaultSiteSpec.
func (s *SiteSpec) UnmarshalYAML(unmarshal func(any) error) error {
	type plain SiteSpec
	p := plain(DefaultSiteSpec())
	if err := unmarshal(&p); err != nil {
		return err
	}
	*s = SiteSpec(p)
	return nil
}

// UnmarshalJSON decodes over DefaultPUESpec.
func (s *PUESpec) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		return nil
	}
	type plain PUESpec
	p := plain(DefaultPUESpec())
	if err := strictJSON(b, &p); err != nil {
		return err
	}
	*s = PUESpec(p)
	return nil
}

// UnmarshalYAML decodes over DefaultPUESpec.
func (s *PUESpec) UnmarshalYAML(unmarshal func(any) error) error {
	type plain PUESpec
	p := plain(DefaultPUESpec())
	if err := unmarshal(&p); err != nil {
		return err
	}
	*s = PUESpec(p)
	return nil
}

// UnmarshalJSON decodes over DefaultSolarSpec.
func (s *SolarSpec) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		return nil
	}
	type plain SolarSpec
	p := plain(DefaultSolarSpec())
	if err := strictJSON(b, &p); err != nil {
		return err
	}
	*s = SolarSpec(p)
	return nil
}

// UnmarshalYAML decodes over DefaultSolarSpec.
func (s *SolarSpec) UnmarshalYAML(unmarshal func(any) error) error {
	type plain SolarSpec
	p := plain(DefaultSolarSpec())
	if err := unmarshal(&p); err != nil {
		return err
	}
	*s = SolarSpec(p)
	return nil
}

// UnmarshalJSON decodes over DefaultWindSpec.
func (s *WindSpec) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		return nil
	}
	type plain WindSpec
	p := plain(DefaultWindSpec())
	if err := strictJSON(b, &p); err != nil {
		return err
	}
	*s = WindSpec(p)
	return nil
}

// UnmarshalYAML decodes over DefaultWindSpec.
func (s *WindSpec) UnmarshalYAML(unmarshal func(any) error) error {
	type plain WindSpec
	p := plain(DefaultWindSpec())
	if err := unmarshal(&p); err != nil {
		return err
	}
	*s = WindSpec(p)
	return nil
}

// UnmarshalJSON decodes over DefaultContractSpec.
func (s *ContractSpec) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		return nil
	}
	type plain ContractSpec
	p := plain(DefaultContractSpec())
	if err := strictJSON(b, &p); err != nil {
		return err
	}
	*s = ContractSpec(p)
	return nil
}

// UnmarshalYAML decodes over DefaultContractSpec.
func (s *ContractSpec) UnmarshalYAML(unmarshal func(any) error) error {
	type plain ContractSpec
	p := plain(DefaultContractSpec())
	if err := unmarshal(&p); err != nil {
		return err
	}
	*s = ContractSpec(p)
	return nil
}

// UnmarshalJSON decodes over DefaultBatterySpec.
func (s *BatterySpec) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		return nil
	}
	type plain BatterySpec
	p := plain(DefaultBatterySpec())
	if err := strictJSON(b, &p); err != nil {
		return err
	}
	*s = BatterySpec(p)
	return nil
}

// UnmarshalYAML decodes over DefaultBatterySpec.
func (s *BatterySpec) UnmarshalYAML(unmarshal func(any) error) error {
	type plain BatterySpec
	p := plain(DefaultBatterySpec())
	if err := unmarshal(&p); err != nil {
		return err
	}
	*s = BatterySpec(p)
	return nil
}

// UnmarshalJSON decodes over DefaultTariffSpec (rules given in the input
// replace the built-in table).
func (s *TariffSpec) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		return nil
	}
	type plain TariffSpec
	p := plain(DefaultTariffSpec())
	if err := strictJSON(b, &p); err != nil {
		return err
	}
	*s = TariffSpec(p)
	return nil
}

// UnmarshalYAML decodes over DefaultTariffSpec.
func (s *TariffSpec) UnmarshalYAML(unmarshal func(any) error) error {
	type plain TariffSpec
	p := plain(DefaultTariffSpec())
	if err := unmarshal(&p); err != nil {
		return err
	}
	*s = TariffSpec(p)
	return nil
}

// UnmarshalJSON decodes over DefaultCarbonSpec.
func (s *CarbonSpec) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		return nil
	}
	type plain CarbonSpec
	p := plain(DefaultCarbonSpec())
	if err := strictJSON(b, &p); err != nil {
		return err
	}
	*s = CarbonSpec(p)
	return nil
}

// UnmarshalYAML decodes over DefaultCarbonSpec.
func (s *CarbonSpec) UnmarshalYAML(unmarshal func(any) error) error {
	type plain CarbonSpec
	p := plain(DefaultCarbonSpec())
	if err := unmarshal(&p); err != nil {
		return err
	}
	*s = CarbonSpec(p)
	return nil
}

// UnmarshalJSON decodes with gpu_power_share defaulting to
// DefaultGPUPowerShare.
func (s *ServerPowerSpec) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		return nil
	}
	type plain ServerPowerSpec
	p := plain(ServerPowerSpec{GPUPowerShare: DefaultGPUPowerShare})
	if err := strictJSON(b, &p); err != nil {
		return err
	}
	*s = ServerPowerSpec(p)
	return nil
}

// UnmarshalYAML decodes with gpu_power_share defaulting to
// DefaultGPUPowerShare.
func (s *ServerPowerSpec) UnmarshalYAML(unmarshal func(any) error) error {
	type plain ServerPowerSpec
	p := plain(ServerPowerSpec{GPUPowerShare: DefaultGPUPowerShare})
	if err := unmarshal(&p); err != nil {
		return err
	}
	*s = ServerPowerSpec(p)
	return nil
}
