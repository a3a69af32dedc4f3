package dev.graft.cli;

import java.nio.file.Path;

/** Where a Graft installation keeps its cached artifacts. */
record Home(Path root) {

  Path corpus(String name) {
    return root.resolve("corpus").resolve(name);
  }

  Path tokenizer(String name) {
    return root.resolve("tokenizers").resolve(name);
  }

  Path model(String name) {
    return root.resolve("models").resolve(name);
  }

  Path run(String name) {
    return root.resolve("runs").resolve(name);
  }
}
