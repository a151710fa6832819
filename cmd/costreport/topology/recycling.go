package topology

import (
	"fmt"
	"math"
)

// RecyclingRow is the chance that at least one request in a window lands on
// a Lambda execution environment as it is recycled.
type RecyclingRow struct {
	Hours       float64
	Label       string
	Probability float64 // 0..1
}

// Recycling compounds an hourly probability p over each window:
// 1 - (1 - p)^hours. With p = 0.22% that is 1.75% over 8 hours, 5.15% over
// a day, 30.93% over a week and 79.52% over 30 days.
func Recycling(p float64, windowHours []float64) []RecyclingRow {
	rows := make([]RecyclingRow, len(windowHours))
	for i, h := range windowHours {
		rows[i] = RecyclingRow{Hours: h, Label: windowLabel(h), Probability: 1 - math.Pow(1-p, h)}
	}
	return rows
}

func windowLabel(h float64) string {
	switch {
	case h == 24:
		return "1 day"
	case h == 168:
		return "1 week"
	case h > 0 && math.Mod(h, 24) == 0:
		return fmt.Sprintf("%g days", h/24)
	case h == 1:
		return "1 hour"
	}
	return fmt.Sprintf("%g hours", h)
}
