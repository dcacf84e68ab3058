// Package scenarios owns the scenario file format of the Suanli simulator:
// the plain configuration types a planner writes in YAML (sites, node
// types, grid and on-site energy, workload classes with their arrival
// processes and size distributions, arrival shapes, events), the strict
// loader that turns a file into a *Scenario with every default filled, and
// its validation.
//
// The package runs nothing. The simulator (package sim) converts a loaded
// Scenario into nodes, energy models and workload generators; this package
// guarantees that what it hands over is complete and consistent: every
// reference (city, site, node type, class, shape) resolves, every value is
// in range, site groups are expanded into sites, and the arrival process of
// every workload is resolved into a rate per origin city.
//
// Every problem is reported, several at once, in the form
//
//	file:line:col: field.path: message (allowed: ...)
//
// whether it is a YAML syntax error, an unknown field, a wrong type, an
// out-of-range value or a dangling reference. Overrides (ApplySet,
// LoadOptions.Sets, the CLI's --set) are applied to the YAML tree before
// decoding, so they are validated like the file itself; a problem in a
// value that came from an override names the override instead of a line.
//
// docs/scenario-format.md is the reference of every field;
// scenario.schema.json is the same format as a JSON Schema (draft 2020-12)
// for editors.
package scenarios
