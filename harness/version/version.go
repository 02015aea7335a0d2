// Package version holds the build's version, set with -ldflags by the Makefile.
package version

// Version is the rehearse version ("dev" when built without the Makefile).
var Version = "dev"
