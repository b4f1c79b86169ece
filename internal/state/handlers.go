package state

import (
	"github.com/tracetop/tracetop/ctf"
	"github.com/tracetop/tracetop/ctf/meta"
)

func resolve(e *meta.Event, s *ctf.Stream) *classInfo { return &classInfo{} }

func (m *Machine) applyPerf(ev *ctf.Event, ci *classInfo, cpu *CPUState) {}
