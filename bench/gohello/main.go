// Command gohello is the harness's floor for a Go plugin: a static Go
// binary that prints one OK line and exits, so the results can tell the
// Go runtime's start-up cost from a check's own.
package main

import "os"

func main() {
	_, _ = os.Stdout.WriteString("OK - hello\n")
}
