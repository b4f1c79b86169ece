package tui

import (
	"context"
	"errors"

	tea "github.com/charmbracelet/bubbletea"
)

// Run shows the top on a terminal until the user quits or ctx ends. It
// closes nothing: the caller owns src.
func Run(ctx context.Context, src Source, opt Options) error {
	m := New(src, opt)
	p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithContext(ctx))
	_, err := p.Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil
	}
	return err
}
