// Command corpus is the Go half of scripts/corpus: it prints the run plan of
// projects.yaml for the shell, compares the runs with expected.yaml, and
// drafts expected.yaml entries for windows nobody has judged yet.
//
//	corpus plan    -projects corpus/projects.yaml
//	corpus compare -projects corpus/projects.yaml -expected corpus/expected.yaml -out DIR
//	corpus draft   -projects corpus/projects.yaml -out DIR
//
// compare exits 1 on a harness failure or a regression (a true finding the
// baseline found and this run missed).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/rehearse-dev/rehearse/internal/corpus"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: corpus plan|compare|draft [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	projects := fs.String("projects", "corpus/projects.yaml", "projects list")
	expected := fs.String("expected", "corpus/expected.yaml", "hand-checked findings")
	out := fs.String("out", "", "folder with one <project>-<window> folder per run")
	_ = fs.Parse(os.Args[2:])

	p, err := corpus.LoadProjects(*projects)
	if err != nil {
		fail(err)
	}
	switch os.Args[1] {
	case "plan":
		for _, pr := range p.Projects {
			for _, w := range pr.Windows {
				fields := append([]string{pr.Name, pr.Repo, pr.Commit, strings.Join(pr.Paths(), ","), w.Name}, p.Args(pr, w)...)
				fmt.Println(strings.Join(fields, "\t"))
			}
		}
	case "compare":
		os.Exit(compare(p, *expected, *out))
	case "draft":
		draft(p, *out)
	default:
		fail(fmt.Errorf("unknown command %q: use plan, compare or draft", os.Args[1]))
	}
}

func compare(p *corpus.Projects, expectedPath, out string) int {
	if out == "" {
		fail(fmt.Errorf("compare needs -out DIR (the runs' folder)"))
	}
	e, err := corpus.LoadExpected(expectedPath)
	if err != nil {
		fail(err)
	}
	byKey := map[string]corpus.ExpectedWindow{}
	for _, w := range e.Windows {
		byKey[w.Project+"-"+w.Window] = w
	}
	var total corpus.Counts
	for _, pr := range p.Projects {
		for _, w := range pr.Windows {
			key := pr.Name + "-" + w.Name
			exp, ok := byKey[key]
			if !ok {
				exp = corpus.ExpectedWindow{Project: pr.Name, Window: w.Name}
				fmt.Printf("(%s has no hand-checked list in %s: every finding is unjudged; run `corpus draft`)\n", key, expectedPath)
			}
			res := corpus.Compare(exp, corpus.ReadRun(filepath.Join(out, key)))
			res.Print(os.Stdout)
			total.Add(res.Counts)
		}
	}
	corpus.PrintTotals(os.Stdout, total)
	regressions := total.Regressions
	if total.Warn != nil {
		regressions += total.Warn.Regressions
	}
	if total.HarnessFailures > 0 || regressions > 0 {
		fmt.Printf("FAIL: %d harness failures, %d regressions\n", total.HarnessFailures, regressions)
		return 1
	}
	return 0
}

// draft prints expected.yaml entries with the reported verdicts and failing
// checks; a human then reads the SQL and sets verdict, truth and why.
func draft(p *corpus.Projects, out string) {
	var e corpus.Expected
	for _, pr := range p.Projects {
		for _, w := range pr.Windows {
			ew := corpus.ExpectedWindow{Project: pr.Name, Window: w.Name, Commit: pr.Commit, From: w.From, To: w.To}
			run := corpus.ReadRun(filepath.Join(out, pr.Name+"-"+w.Name))
			if run.HarnessFailure != "" {
				ew.Note = "harness failure: " + run.HarnessFailure
			}
			if run.Report != nil {
				for _, m := range run.Report.Migrations {
					em := corpus.Migration{Migration: corpus.Key(m.Version, m.Name), Verdict: m.Verdict, Why: "TODO"}
					for check, msg := range corpus.Failing(m.Checks) {
						em.Findings = append(em.Findings, corpus.Finding{Check: check, Before: "found", Why: "TODO " + msg})
					}
					ew.Migrations = append(ew.Migrations, em)
				}
			}
			e.Windows = append(e.Windows, ew)
		}
	}
	enc := yaml.NewEncoder(os.Stdout)
	enc.SetIndent(2)
	if err := enc.Encode(e); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "corpus:", err)
	os.Exit(2)
}
