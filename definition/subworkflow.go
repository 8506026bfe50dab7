package definition

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
)

// child compiles the definition a workflow step runs, embedding its plan
// so the run never reads the file again. Its problems are the parent's
// problems, located in its own file.
func (c *compiler) child(i int, w *SubWorkflow) *Plan {
	path := stepPath(i, "workflow", "file")
	if w.File == "" {
		c.problem(stepPath(i, "workflow"), "workflow needs file:", "add file: the definition to run as a sub-workflow, relative to this file")
		return nil
	}
	if c.opts.ReadFile == nil {
		c.problem(path, "sub-workflows can be read only when the definition is loaded from a file", "compile it with definition.Load")
		return nil
	}
	name, stack, ok := c.childFile(path, w.File)
	if !ok {
		return nil
	}
	data, err := c.opts.ReadFile(name)
	if err != nil {
		c.unreadable(path, name, err)
		return nil
	}
	doc, err := Parse(name, data)
	if doc != nil {
		var plan *Plan
		plan, err = Compile(doc, Options{ReadFile: c.opts.ReadFile, Actions: c.opts.Actions, stack: stack})
		if err == nil {
			plan.Source = w.File
			return plan
		}
	}
	c.childProblems(path, err)
	return nil
}

// childFile resolves file relative to this definition's file and checks
// that compiling it neither cycles nor nests too deep; stack is the chain
// of files the child is compiled under.
func (c *compiler) childFile(path, file string) (name string, stack []string, ok bool) {
	name = file
	if !filepath.IsAbs(name) {
		name = filepath.Join(filepath.Dir(c.doc.File), name)
	}
	stack = append(slices.Clone(c.opts.stack), filepath.Clean(c.doc.File))
	if slices.Contains(stack, filepath.Clean(name)) {
		c.problem(path, "sub-workflows call each other in a cycle: "+strings.Join(append(stack, name), " → "), "break the cycle")
		return "", nil, false
	}
	if len(stack) > MaxSubWorkflowDepth {
		c.problem(path, fmt.Sprintf("sub-workflows nest deeper than %d levels", MaxSubWorkflowDepth), "flatten them")
		return "", nil, false
	}
	return name, stack, true
}

// unreadable reports a sub-workflow file that could not be read.
func (c *compiler) unreadable(path, name string, err error) {
	var ps Problems
	switch {
	case errors.As(err, &ps):
		c.problems = append(c.problems, ps...)
	case errors.Is(err, fs.ErrNotExist):
		c.problem(path, fmt.Sprintf("sub-workflow file %s does not exist", name), "the path is relative to "+c.doc.File)
	default:
		c.problem(path, fmt.Sprintf("cannot read sub-workflow: %v", err), "")
	}
}

// childProblems adds a refused sub-workflow's problems to this one's.
func (c *compiler) childProblems(path string, err error) {
	var ps Problems
	if errors.As(err, &ps) {
		c.problems = append(c.problems, ps...)
		return
	}
	c.problem(path, err.Error(), "")
}
