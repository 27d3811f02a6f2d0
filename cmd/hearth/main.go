// Command hearth runs a Hearth node: a federated chat server with an
// embedded database and web UI in one binary.
//
//	hearth serve [flags]    start a node (see hearth serve -h)
//	hearth version          print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "serve":
		m := NewMain(stdout, stderr)
		if err := m.ParseFlags(args[1:], os.Getenv); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			fmt.Fprintln(stderr, "hearth serve:", err)
			return 2
		}
		if err := m.Run(ctx); err != nil {
			fmt.Fprintln(stderr, "hearth serve:", err)
			m.Close()
			return 1
		}
		<-ctx.Done()
		if err := m.Close(); err != nil {
			fmt.Fprintln(stderr, "hearth serve: shutdown:", err)
			return 1
		}
		return 0
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "hearth", version)
		return 0
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	default:
		if cmd, ok := commands()[args[0]]; ok {
			if err := cmd(ctx, args[1:], stdout, stderr); err != nil {
				fmt.Fprintf(stderr, "hearth %s: %v\n", args[0], err)
				return 1
			}
			return 0
		}
		fmt.Fprintf(stderr, "hearth: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
}

// command is a subcommand defined in its own file.
type command func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// commands lists the subcommands beyond serve and version.
func commands() map[string]command {
	return map[string]command{
		"admin":   adminCommand,
		"bench":   benchCommand,
		"backup":  backupCommand,
		"restore": restoreCommand,
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: hearth <command> [flags]

commands:
  serve     run a node (hearth serve -h lists its flags)
  version   print the version
`)
	fmt.Fprint(w, `  admin     administer a running node: users, invites, rooms, nodes, audit (hearth admin help)
  bench     drive a node with load and report latency (hearth bench -h)
  backup    write a backup of a node, running or not (hearth backup [--data DIR] FILE)
  restore   restore a backup into an empty data directory (hearth restore [--data DIR] FILE)
`)
}
