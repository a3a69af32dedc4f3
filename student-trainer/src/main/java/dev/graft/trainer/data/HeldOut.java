package dev.graft.trainer.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.graft.data.DatasetSplit;
import dev.graft.data.Document;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The documents a base model never trained on, recorded beside the model as {@value #FILE}, so
 * that every retrofit of it evaluates on exactly those documents: evaluating a student on text
 * its teacher trained on would flatter both.
 *
 * @param documents the held-out documents' ids, sorted
 * @param rule how they were chosen, for people
 */
public record HeldOut(List<String> documents, String rule) {

  /** The file beside a model's {@code config.json}. */
  public static final String FILE = "heldout.json";

  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  public HeldOut {
    documents = documents.stream().sorted().toList();
    if (documents.isEmpty()) {
      throw new IllegalArgumentException("a held-out set needs at least one document");
    }
  }

  /** The validation side of {@code split}. */
  public static HeldOut of(DatasetSplit split, String rule) {
    return new HeldOut(split.validation().stream().map(Document::id).toList(), rule);
  }

  /** A digest of the sorted ids, to name the set in reports. */
  public String sha256() {
    try {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      for (String id : documents) {
        d.update(id.getBytes(StandardCharsets.UTF_8));
        d.update((byte) '\n');
      }
      return HexFormat.of().formatHex(d.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Writes {@value #FILE} into {@code modelDir}. */
  public void write(Path modelDir) throws IOException {
    ObjectNode n = JSON.createObjectNode();
    n.put("rule", rule);
    n.put("sha256", sha256());
    var ids = n.putArray("documents");
    documents.forEach(ids::add);
    Files.writeString(modelDir.resolve(FILE), JSON.writeValueAsString(n));
  }

  /**
   * The held-out set recorded beside a model, if any.
   *
   * @throws IllegalArgumentException for a file that is not a valid record
   */
  public static Optional<HeldOut> read(Path modelDir) throws IOException {
    Path f = modelDir.resolve(FILE);
    if (!Files.isRegularFile(f)) {
      return Optional.empty();
    }
    JsonNode n = JSON.readTree(f.toFile());
    if (n == null || !n.path("documents").isArray()) {
      throw new IllegalArgumentException(f + " has no 'documents' list");
    }
    List<String> ids = new ArrayList<>();
    n.get("documents").forEach(d -> ids.add(d.asText()));
    HeldOut h = new HeldOut(ids, n.path("rule").asText(""));
    if (n.hasNonNull("sha256") && !n.get("sha256").asText().equals(h.sha256())) {
      throw new IllegalArgumentException(f + " lists documents whose digest is not its sha256; the file was edited");
    }
    return Optional.of(h);
  }

  /**
   * Splits {@code corpus} into these held-out documents and the rest.
   *
   * @throws IllegalArgumentException when some held-out document is not in the corpus (the run
   *     would evaluate on other text than the teacher held out), naming how many and a few
   */
  public DatasetSplit split(List<Document> corpus) {
    Set<String> held = new LinkedHashSet<>(documents);
    List<Document> train = new ArrayList<>();
    List<Document> validation = new ArrayList<>();
    for (Document d : corpus) {
      (held.remove(d.id()) ? validation : train).add(d);
    }
    if (!held.isEmpty()) {
      throw new IllegalArgumentException("the teacher held out " + documents.size() + " documents (" + FILE
          + ", sha256 " + sha256().substring(0, 12) + ") but " + held.size() + " are not in this corpus, e.g. "
          + held.stream().limit(3).toList() + "; distil on the corpus the teacher was pretrained on (data.corpus)"
          + " or the evaluation would not be on text the teacher never saw");
    }
    return new DatasetSplit(train, validation);
  }
}
