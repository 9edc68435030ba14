package embedtemporal

import (
	_ "embed"
	"errors"
	"fmt"

	"go.temporal.io/server/common/dynamicconfig"
)

// dynamicConfigYAML is Temporal's dynamic configuration for flexauth, the
// same file the compose file mounts into its Temporal server.
//
//go:embed dynamicconfig.yaml
var dynamicConfigYAML []byte

// dynamicConfig parses dynamicConfigYAML. A setting Temporal does not know
// is an error, not a warning: a misspelt key would silently change
// nothing.
func dynamicConfig() (dynamicconfig.StaticClient, error) {
	l := dynamicconfig.LoadYamlFile(dynamicConfigYAML)
	if err := errors.Join(l.Err(), errors.Join(l.Warnings...)); err != nil {
		return nil, fmt.Errorf("load temporal's dynamic config: %w", err)
	}
	c := make(dynamicconfig.StaticClient, len(l.Map))
	for k, v := range l.Map {
		c[k] = v
	}
	return c, nil
}
