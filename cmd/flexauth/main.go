// Command flexauth is the flexauth authentication engine: `flexauth dev`
// runs everything on one machine; `flexauth api` and `flexauth worker` are
// the production processes; the rest is tooling.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const usage = `flexauth — workflow-driven authentication

usage: flexauth [--log-format text|json] COMMAND [flags]   (--log-format may also follow COMMAND)

  --log-format  the form of the log lines on stderr: text (default) or json,
                one object a line (env FLEXAUTH_LOG_FORMAT)

commands:
  flexauth dev     [--addr 127.0.0.1:8080] [--data ./data]   everything on one machine
  flexauth api     [flags]                                    the HTTP API (production)
  flexauth worker  [flags]                                    the Temporal worker (production)
  flexauth migrate [--database URL]                           apply database migrations
  flexauth codec-server [--addr 127.0.0.1:8089] [--cors-origin URL] [--token T]
                                                              decrypt workflow histories for the Temporal UI and CLI
  flexauth account create --id ID [--admin AUTHID --admin-email E]
                                                              an account, its admin key and console administrator
  flexauth policy test [DIR]                                  run the Rego tests of a policy folder
  flexauth plugin list [--plugins-config F] [--plugins DIR]    the configured plugins, each checked
  flexauth plugin check PATH [key=value ...]                  handshake, version, capabilities of a plugin
  flexauth plugin serve NAME                                  run a built-in plugin (used by the host)
  flexauth probe [--timeout 3s] URL                           exit 0 if URL answers 2xx (container health checks)

Run "flexauth COMMAND -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "flexauth:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	// Flags before the command apply to every command.
	global := flag.NewFlagSet("flexauth", flag.ContinueOnError)
	global.SetOutput(stderr)
	global.Usage = func() {}
	format := global.String("log-format", envOr("FLEXAUTH_LOG_FORMAT", "text"), "text or json")
	if err := global.Parse(args); errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		return nil
	} else if err != nil {
		fmt.Fprint(stderr, usage)
		return err
	}
	args = global.Args()
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	cmd, rest := args[0], args[1:]
	// --log-format is taken after the command too ("flexauth worker
	// --log-format json"), as every command's own flag would be.
	if v, found, others, err := takeLogFormat(rest); err != nil {
		fmt.Fprint(stderr, usage)
		return err
	} else if found {
		*format, rest = v, others
	}
	logger, err := newLogger(stderr, *format)
	if err != nil {
		fmt.Fprint(stderr, usage)
		return err
	}
	switch cmd {
	case "dev":
		return runDev(ctx, rest, stdout, logger)
	case "api":
		return runAPI(ctx, rest, logger)
	case "worker":
		return runWorker(ctx, rest, logger)
	case "migrate":
		return runMigrate(ctx, rest, stdout)
	case "codec-server":
		return runCodecServer(ctx, rest, logger)
	case "account":
		return runAccount(ctx, rest, stdout)
	case "policy":
		return runPolicy(ctx, rest, stdout)
	case "plugin":
		return runPlugin(ctx, rest, stdout, logger)
	case "probe":
		return runProbe(ctx, rest, stdout)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// newLogger returns the logger of every command: text or JSON lines on w.
func newLogger(w io.Writer, format string) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q (or FLEXAUTH_LOG_FORMAT): want text or json", format)
}

// takeLogFormat finds --log-format (or -log-format, with its value as the
// next argument or after '=') among a command's arguments, before any
// "--", and returns its last value and the arguments without it.
func takeLogFormat(args []string) (value string, found bool, rest []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		name, v, hasValue := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "log-format" {
			rest = append(rest, a)
			continue
		}
		if !hasValue {
			if i+1 == len(args) {
				return "", false, nil, errors.New("--log-format needs a value: text or json")
			}
			i++
			v = args[i]
		}
		value, found = v, true
	}
	return value, found, rest, nil
}
