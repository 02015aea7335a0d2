package kind

import (
	"context"
	"fmt"
	"log/slog"

	kindlog "sigs.k8s.io/kind/pkg/log"
)

// kindLogger sends kind's log lines to slog: V(0) at Info, deeper at Debug.
type kindLogger struct{ l *slog.Logger }

func (k kindLogger) Warn(m string)                        { k.l.Warn("kind: " + m) }
func (k kindLogger) Warnf(f string, a ...any)             { k.l.Warn("kind: " + fmt.Sprintf(f, a...)) }
func (k kindLogger) Error(m string)                       { k.l.Error("kind: " + m) }
func (k kindLogger) Errorf(f string, a ...any)            { k.l.Error("kind: " + fmt.Sprintf(f, a...)) }
func (k kindLogger) V(v kindlog.Level) kindlog.InfoLogger { return kindInfo{l: k.l, v: v} }

type kindInfo struct {
	l *slog.Logger
	v kindlog.Level
}

func (k kindInfo) level() slog.Level {
	if k.v <= 0 {
		return slog.LevelInfo
	}
	return slog.LevelDebug
}

func (k kindInfo) Info(m string)            { k.l.Log(context.Background(), k.level(), "kind: "+m) }
func (k kindInfo) Infof(f string, a ...any) { k.Info(fmt.Sprintf(f, a...)) }
func (k kindInfo) Enabled() bool            { return k.l.Enabled(context.Background(), k.level()) }
