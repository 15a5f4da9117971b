package io.vnrt.runtime.graph;

import java.util.List;
import java.util.stream.Collectors;

/** A model cannot be loaded; lists every problem found, not just the first. */
public final class ModelLoadException extends Exception {
    private final List<LoadProblem> problems;

    public ModelLoadException(List<LoadProblem> problems) {
        super(format(problems));
        this.problems = List.copyOf(problems);
    }

    public ModelLoadException(String message) {
        this(List.of(LoadProblem.graph(message)));
    }

    public List<LoadProblem> problems() {
        return problems;
    }

    private static String format(List<LoadProblem> problems) {
        if (problems.size() == 1) {
            return problems.get(0).toString();
        }
        return problems.size() + " problems:\n" + problems.stream().map(p -> "  - " + p).collect(Collectors.joining("\n"));
    }
}
