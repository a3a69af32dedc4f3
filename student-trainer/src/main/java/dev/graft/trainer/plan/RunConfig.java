package dev.graft.trainer.plan;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import dev.graft.retrofit.Retrofit;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Everything a distillation run is: teacher, retrofit, loss, data, optimisation, evaluation,
 * checkpoints. Built from the defaults in {@code defaults.yaml}, then a user's YAML file, then
 * {@code section.key=value} overrides, in that order. Every key a user writes must exist in the
 * defaults; a misspelt key or a value of the wrong type is an error naming the key, before any
 * work starts. {@link RunPlan#of} checks the values themselves.
 */
public record RunConfig(
    Teacher teacher,
    Retrofit retrofit,
    Loss loss,
    Data data,
    Train train,
    Align align,
    OnPolicy onpolicy,
    SeqKd seqkd,
    Eval eval,
    Checkpoint checkpoint,
    Server server,
    Memory memory,
    String output) {

  /**
   * The teacher: a checkpoint to serve on loopback, or running teacher-services; and optionally a
   * target store of its training targets ({@code graft score}).
   */
  public record Teacher(String model, List<String> endpoints, double deadlineSeconds, double patienceSeconds,
      String store) {
    public Teacher {
      endpoints = List.copyOf(endpoints);
    }
  }

  /** The architecture change and how α moves from 0 (teacher) to 1 (student). */
  public record Retrofit(String type, int kvHeads, String init, boolean graduality,
      String alphaOrder, long alphaStart, long alphaRampSteps, long seed,
      int bits, String granularity, int groupSize, List<String> linears, int window, int sinks, String layers,
      String attentionLayers, int stateSize, int chunkSize, List<String> freeze) {
    public Retrofit {
      linears = linears == null ? null : List.copyOf(linears);
      freeze = freeze == null ? null : List.copyOf(freeze);
    }

    /**
     * What the run fingerprint digests of this section: the keys every type shares, written as
     * this record was before other types joined it, and then only the chosen type's own keys, so
     * adding a type (and its keys) keeps the fingerprint of every earlier run.
     */
    public String fingerprintText() {
      String common = "Retrofit[type=" + type + ", kvHeads=" + kvHeads + ", init=" + init + ", graduality="
          + graduality + ", alphaOrder=" + alphaOrder + ", alphaStart=" + alphaStart + ", alphaRampSteps="
          + alphaRampSteps + ", seed=" + seed + "]";
      String t = type == null ? "" : type.trim().toLowerCase(java.util.Locale.ROOT);
      return switch (t) {
        case "quant" -> common + " bits=" + bits + ", granularity=" + granularity + ", groupSize=" + groupSize
            + ", linears=" + linears;
        case "window" -> common + " window=" + window + ", sinks=" + sinks + ", layers=" + layers;
        case "hybrid" -> common + " attentionLayers=" + attentionLayers + ", stateSize=" + stateSize
            + ", chunkSize=" + chunkSize + ", freeze=" + freeze;
        default -> common;
      };
    }
  }

  /** The objective and the form of the teacher's targets. */
  public record Loss(String divergence, double temperature, String targets, int k,
      String valueDtype) {}

  /** The corpus, its split (the base model's, so evaluation is on documents it never saw) and packing. */
  public record Data(String corpus, int seqLen, double validationFraction, long splitSeed) {}

  /** Optimisation. {@code seed} fixes the data order. */
  public record Train(long steps, int batchSize, int microBatch, double lr, long warmupSteps,
      String schedule, double minLrRatio, double weightDecay, double clipNorm, long seed) {}

  /**
   * Staged alignment before end-to-end distillation (MOHAWK stages 1 and 2), each with a budget
   * of trained positions (0 skips the stage): stage 1 trains each converted layer's mixer to
   * reproduce the teacher attention's output, stage 2 each converted block the teacher block's
   * output, all layers independently from the teacher's hidden states.
   */
  public record Align(long mixerTokens, long blockTokens, double lr, int batchSize, String data) {
    /** Whether any stage runs. */
    /** What the run fingerprint digests of this section when a stage runs. */
    public String fingerprintText() {
      return toString();
    }
  }

  /**
   * On-policy data: a {@code fraction} of each batch's rows are document prefixes completed by
   * the current student on sampler-services, scored by the teacher on the completion positions.
   * Versions are numbered by the training step at which they were published.
   */
  public record OnPolicy(double fraction, List<String> samplers, int promptTokens, int maxNewTokens,
      List<Integer> stopTokenIds, double temperature, double topP, long publishEvery, long maxPolicyLag,
      double patienceSeconds, boolean fallbackToCorpus) {
    public OnPolicy {
      samplers = List.copyOf(samplers);
      stopTokenIds = List.copyOf(stopTokenIds);
    }
  }

  /**
   * Sequence-level distillation: a {@code fraction} of each batch's rows are corpus prompts
   * completed by the teacher on teacher-serving sampler-services; the student trains on them by
   * {@code ce_weight}·cross-entropy on the teacher's tokens plus {@code kl_weight}·the run's
   * divergence against the teacher's distributions.
   */
  public record SeqKd(double fraction, List<String> samplers, int promptTokens, int maxNewTokens,
      double temperature, double topP, double ceWeight, double klWeight, int prefetchSteps,
      double patienceSeconds) {
    public SeqKd {
      samplers = List.copyOf(samplers);
    }
  }

  /**
   * Held-out evaluation, the α = 0 exactness check, and how many held-out document beginnings the
   * student continues for the teacher to judge.
   */
  public record Eval(long every, int sequences, int continuations, double exactnessTolerance) {}

  /** Checkpoint cadence and retention. */
  public record Checkpoint(long every, int keep) {}

  /** The trainer's own server: status and policy weights, and Prometheus metrics over HTTP. */
  public record Server(int port, int metricsPort) {}

  /** What (positions × vocabulary) buffers of the loss and the evaluations may take at once, in MiB. */
  public record Memory(long vocabBudgetMb) {}

  private static final String DEFAULTS = "defaults.yaml";

  private static final ObjectMapper YAML =
      new ObjectMapper(new YAMLFactory().disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER))
          .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
          .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT);

  /** The defaults alone. */
  public static RunConfig defaults() {
    return load(null, List.of());
  }

  /**
   * Reads the defaults, merges {@code file} (may be null) and applies {@code overrides}.
   *
   * @param overrides {@code section.key=value}; the value is read as YAML, so {@code 3},
   *     {@code 1e-3}, {@code true}, {@code [a:1, b:2]} and {@code ""} all work
   * @throws IllegalArgumentException naming the key for an unknown key, a malformed override or a
   *     value of the wrong type
   */
  public static RunConfig load(Path file, List<String> overrides) {
    ObjectNode tree = defaultsTree();
    if (file != null) {
      JsonNode user = readFile(file);
      if (!user.isMissingNode() && !user.isNull()) {
        if (!user.isObject()) {
          throw new IllegalArgumentException(file + " must hold a YAML mapping of sections, e.g. 'train:'");
        }
        merge(tree, (ObjectNode) user, "", file.toString());
      }
    }
    for (String o : overrides) {
      applyOverride(tree, o);
    }
    return convert(tree);
  }

  /** This config as YAML, in the layout of the defaults; {@code load} of it gives an equal config. */
  public String toYaml() {
    try {
      return YAML.writeValueAsString(this);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write the run config as YAML", e);
    }
  }

  /** Returns a copy with one override applied, e.g. {@code with("train.steps=50")}. */
  public RunConfig with(String override) {
    ObjectNode tree = YAML.valueToTree(this);
    applyOverride(tree, override);
    return convert(tree);
  }

  private static ObjectNode defaultsTree() {
    try (InputStream in = RunConfig.class.getResourceAsStream(DEFAULTS)) {
      if (in == null) {
        throw new IllegalStateException(DEFAULTS + " is missing from the trainer's resources");
      }
      return (ObjectNode) YAML.readTree(in);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the built-in " + DEFAULTS, e);
    }
  }

  private static JsonNode readFile(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("run config " + file + " does not exist or is not a file");
    }
    try {
      return YAML.readTree(file.toFile());
    } catch (IOException e) {
      throw new IllegalArgumentException("run config " + file + " is not valid YAML: "
          + e.getMessage().lines().findFirst().orElse(""), e);
    }
  }

  private static void merge(ObjectNode into, ObjectNode user, String prefix, String where) {
    Iterator<String> names = user.fieldNames();
    while (names.hasNext()) {
      String name = names.next();
      String key = prefix + name;
      JsonNode known = into.get(name);
      if (known == null) {
        throw new IllegalArgumentException("unknown key '" + key + "' in " + where + "; "
            + knownKeys(into, prefix));
      }
      JsonNode value = user.get(name);
      if (known.isObject()) {
        if (!value.isObject()) {
          throw new IllegalArgumentException("'" + key + "' in " + where
              + " must be a section with keys, not a value; " + knownKeys((ObjectNode) known, key + "."));
        }
        merge((ObjectNode) known, (ObjectNode) value, key + ".", where);
      } else {
        into.set(name, value);
      }
    }
  }

  private static void applyOverride(ObjectNode tree, String override) {
    int eq = override.indexOf('=');
    if (eq <= 0) {
      throw new IllegalArgumentException("override '" + override
          + "' must look like section.key=value, e.g. train.steps=50");
    }
    String key = override.substring(0, eq).trim();
    String text = override.substring(eq + 1).trim();
    String[] path = key.split("\\.");
    ObjectNode node = tree;
    StringBuilder prefix = new StringBuilder();
    for (int i = 0; i < path.length - 1; i++) {
      JsonNode next = node.get(path[i]);
      if (next == null || !next.isObject()) {
        throw new IllegalArgumentException("unknown key '" + key + "' in --set; "
            + knownKeys(node, prefix.toString()));
      }
      prefix.append(path[i]).append('.');
      node = (ObjectNode) next;
    }
    String leaf = path[path.length - 1];
    JsonNode known = node.get(leaf);
    if (known == null || known.isObject()) {
      throw new IllegalArgumentException("unknown key '" + key + "' in --set; "
          + knownKeys(node, prefix.toString()));
    }
    node.set(leaf, parseValue(key, text, known));
  }

  private static JsonNode parseValue(String key, String text, JsonNode known) {
    if (text.isEmpty()) {
      return known.isArray() ? YAML.createArrayNode() : YAML.getNodeFactory().textNode("");
    }
    try {
      JsonNode v = YAML.readTree(text);
      // A bare word such as "forward_kl" or "mean_pool" is text; "host:1234" would otherwise be
      // read as a mapping.
      if (known.isTextual() && !v.isTextual()) {
        return YAML.getNodeFactory().textNode(text);
      }
      if (known.isArray() && v.isTextual()) {
        List<String> items = new ArrayList<>();
        for (String s : text.split(",")) {
          items.add(s.trim());
        }
        return YAML.valueToTree(items);
      }
      return v;
    } catch (IOException e) {
      throw new IllegalArgumentException("value of " + key + " ('" + text + "') is not valid YAML", e);
    }
  }

  private static RunConfig convert(ObjectNode tree) {
    try {
      return YAML.treeToValue(tree, RunConfig.class);
    } catch (MismatchedInputException e) {
      String key = e.getPath().stream()
          .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
          .reduce((a, b) -> a + "." + b).orElse("?");
      String message = e.getOriginalMessage().lines().findFirst().orElse("");
      throw new IllegalArgumentException("run config key '" + key + "' has a value of the wrong type: "
          + message, e);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("run config cannot be read: " + e.getOriginalMessage(), e);
    }
  }

  private static String knownKeys(ObjectNode section, String prefix) {
    List<String> keys = new ArrayList<>();
    section.fieldNames().forEachRemaining(n -> keys.add(prefix + n));
    return "known keys: " + String.join(", ", keys);
  }
}
