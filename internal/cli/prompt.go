package cli

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// askYes asks question on stderr and reads the answer from the terminal.
// Whatever was typed before the question appeared (a "yes" typed while
// accounts were still being collected) is discarded first, so only an
// answer to this question counts. Only "yes" confirms; "y" gets one
// reminder to type the word in full.
func askYes(g *globalOptions, question string) bool {
	discardPendingInput(g.streams.In)
	r := bufio.NewReader(g.streams.In)
	fmt.Fprintf(g.streams.Err, "%s Type yes to continue: ", question)
	for tries := 0; ; tries++ {
		line, err := r.ReadString('\n')
		answer := strings.ToLower(strings.TrimSpace(line))
		switch {
		case answer == "yes":
			return true
		case (answer == "y" || answer == "ye") && tries == 0 && err == nil:
			fmt.Fprint(g.streams.Err, "Please type yes in full (anything else stops): ")
		default:
			if err == io.EOF {
				fmt.Fprintln(g.streams.Err)
			}
			return false
		}
	}
}
