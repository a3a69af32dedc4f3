package dev.graft.trainer;

import java.nio.file.Path;

/**
 * Where a Graft installation keeps its cached artifacts: the corpus, tokenizers, models and runs,
 * so that the embedded base model is trained once per machine.
 */
public record Home(Path root) {

  /** The default: {@code $GRAFT_HOME}, else {@code ~/.cache/graft}. */
  public static Path defaultRoot() {
    String env = System.getenv("GRAFT_HOME");
    return env != null && !env.isBlank() ? Path.of(env)
        : Path.of(System.getProperty("user.home"), ".cache", "graft");
  }

  public Path corpus(String name) {
    return root.resolve("corpus").resolve(name);
  }

  public Path tokenizer(String name) {
    return root.resolve("tokenizers").resolve(name);
  }

  public Path model(String name) {
    return root.resolve("models").resolve(name);
  }

  public Path run(String name) {
    return root.resolve("runs").resolve(name);
  }
}
