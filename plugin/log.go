package plugin

import (
	"fmt"

	"github.com/rs/zerolog"
)

// newLogger logs to stderr, never to stdout (stdout is Argo CD's YAML).
func newLogger(env Env, level, format string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		return zerolog.Nop(), fmt.Errorf("--log-level: %w", err)
	}
	switch format {
	case "json":
		return zerolog.New(env.Stderr).Level(lvl).With().Timestamp().Logger(), nil
	case "console":
		w := zerolog.ConsoleWriter{Out: env.Stderr, NoColor: true, TimeFormat: "15:04:05"}
		return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
	default:
		return zerolog.Nop(), fmt.Errorf("--log-format must be console or json, not %q", format)
	}
}
