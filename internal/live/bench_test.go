package live

import (
	"context"
	"sync"
	"testing"
	"time"
)

// BenchmarkLiveLatency measures the delay from an event's time stamp to
// its delivery by Session.Read, with one busy and one idle stream and a
// live timer of 100 ms, against our relay and lttng-relayd. The goal is
// the live timer period plus 100 ms at worst (ratio worst/timer <= 2).
// tick-late-ms is how late the producer's live timer ticked at worst: on
// a loaded machine the packets leave that much later, and the delays grow
// by as much whatever the viewer does.
func BenchmarkLiveLatency(b *testing.B) {
	for _, rk := range relays {
		b.Run(rk.name, func(b *testing.B) {
			var all []time.Duration
			var tickLate time.Duration
			for b.Loop() {
				r := rk.start(b)
				const timer = 100 * time.Millisecond
				p := newProducer(b, r, "latency", timer, "busy_0", "idle_1")
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				var g *got
				var err error
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					g, err = view(nil, ctx, p.url(r, "latency"), Options{Beginning: true}, nil, nil)
				}()
				if perr := p.run(ctx, 2*time.Second, time.Millisecond, "busy_0", "idle_1"); perr != nil {
					b.Fatal(perr)
				}
				wg.Wait()
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				all = append(all, g.delays...)
				tickLate = max(tickLate, p.tickLate)
			}
			med, worst := percentile(all, 0.5), percentile(all, 1)
			b.ReportMetric(float64(med)/1e6, "median-ms")
			b.ReportMetric(float64(percentile(all, 0.99))/1e6, "p99-ms")
			b.ReportMetric(float64(worst)/1e6, "worst-ms")
			b.ReportMetric(float64(worst)/float64(100*time.Millisecond), "worst/timer")
			b.ReportMetric(float64(tickLate)/1e6, "tick-late-ms")
			b.Logf("%d events: delay median %v, p99 %v, worst %v (live timer 100ms, goal <= 200ms); the producer's timer ticked up to %v late (a loaded machine: that much more delay)",
				len(all), med, percentile(all, 0.99), worst, tickLate)
		})
	}
}
