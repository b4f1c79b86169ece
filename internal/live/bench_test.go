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
func BenchmarkLiveLatency(b *testing.B) {
	for _, rk := range relays {
		b.Run(rk.name, func(b *testing.B) {
			var all []time.Duration
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
			}
			med, worst := percentile(all, 0.5), percentile(all, 1)
			b.ReportMetric(float64(med)/1e6, "median-ms")
			b.ReportMetric(float64(percentile(all, 0.99))/1e6, "p99-ms")
			b.ReportMetric(float64(worst)/1e6, "worst-ms")
			b.ReportMetric(float64(worst)/float64(100*time.Millisecond), "worst/timer")
			b.Logf("%d events: delay median %v, p99 %v, worst %v (live timer 100ms, goal <= 200ms)", len(all), med, percentile(all, 0.99), worst)
		})
	}
}
