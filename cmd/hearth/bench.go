package main

import (
	"context"
	"io"

	"github.com/hearth-chat/hearth/bench"
)

// benchCommand is `hearth bench`: the load tool, so operators can size
// their own node (like nats bench).
func benchCommand(ctx context.Context, args []string, stdout, _ io.Writer) error {
	return bench.Main(ctx, args, stdout)
}
