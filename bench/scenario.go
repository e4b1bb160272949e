package bench

import (
	"fmt"
	"strings"
)

// Scenario is one of DESIGN.md's benchmark scenarios: how many injectors
// announce the same prefixes (with different paths) and how many monitors
// receive what the target re-advertises.
type Scenario struct {
	Name      string `json:"name"`
	Injectors int    `json:"injectors"`
	Prefixes  int    `json:"prefixes"`
	Monitors  int    `json:"monitors"`
}

// Scenarios are S1 to S4 of DESIGN.md.
var Scenarios = []Scenario{
	{Name: "S1", Injectors: 1, Prefixes: 100_000, Monitors: 1},
	{Name: "S2", Injectors: 1, Prefixes: 1_000_000, Monitors: 1},
	{Name: "S3", Injectors: 10, Prefixes: 100_000, Monitors: 1},
	{Name: "S4", Injectors: 1, Prefixes: 1_000_000, Monitors: 20},
}

// Paths is the number of routes the target receives: prefixes times
// injectors.
func (s Scenario) Paths() int { return s.Prefixes * s.Injectors }

// Routes is what the busier side of the test peers handles: the paths the
// injectors send (S3: ten per prefix) or the copies the monitors receive
// (S4: twenty per prefix). Routes per second is the rate the self-check
// compares: the test peers must handle it far faster than any target.
func (s Scenario) Routes() int { return s.Prefixes * max(s.Injectors, s.Monitors) }

func (s Scenario) String() string {
	inj := "injector"
	if s.Injectors > 1 {
		inj += "s"
	}
	mon := "monitor"
	if s.Monitors > 1 {
		mon += "s"
	}
	overlap := ""
	if s.Injectors > 1 {
		overlap = " overlapping"
	}
	return fmt.Sprintf("%s: %d %s x %d%s prefixes -> %d %s", s.Name, s.Injectors, inj, s.Prefixes, overlap, s.Monitors, mon)
}

// ParseScenarios reads a comma-separated list of scenario names.
func ParseScenarios(list string) ([]Scenario, error) {
	var out []Scenario
	for _, name := range strings.Split(list, ",") {
		name = strings.ToUpper(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		found := false
		for _, s := range Scenarios {
			if s.Name == name {
				out = append(out, s)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown scenario %q (have S1, S2, S3, S4)", name)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no scenario given")
	}
	return out, nil
}
