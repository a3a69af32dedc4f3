package dev.graft.trainer.pretrain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.tokenizer.BpeModel;
import dev.graft.trainer.distill.TinyTeacher;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HeldOutTextTest {

  @Test
  void score_ofTheWholeText_isThePretrainingValidationLoss() throws Exception {
    Path base = TinyTeacher.dir();
    double reported = new ObjectMapper().readTree(base.resolve(BaseModelJob.REPORT).toFile())
        .get("validation_loss").asDouble();
    HeldOutText text = HeldOutText.of(base, TinyTeacher.CORPUS, 64, 0);
    try (NDManager m = NDManager.newBaseManager()) {
      LmEvaluator.Score all = text.score(base, m);
      assertEquals(reported, all.loss(), 1e-4 * reported);
      LmEvaluator.Score some = HeldOutText.of(base, TinyTeacher.CORPUS, 64, 2).score(base, m);
      assertTrue(some.tokens() > 0 && some.tokens() < all.tokens(), some + " of " + all);
    }
  }

  @Test
  void aModelWithAnotherTokenizer_isRefused(@TempDir Path tmp) throws Exception {
    Path base = TinyTeacher.dir();
    Path other = tmp.resolve("other");
    Files.createDirectories(other);
    try (var files = Files.list(base)) {
      for (Path f : files.toList()) {
        Files.copy(f, other.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
      }
    }
    Path tok = other.resolve(BpeModel.TOKENIZER_JSON);
    Files.writeString(tok, Files.readString(tok).replaceFirst("\\{", "{ ")); // same tokens, other bytes
    HeldOutText text = HeldOutText.of(base, TinyTeacher.CORPUS, 64, 2);
    try (NDManager m = NDManager.newBaseManager()) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> text.score(other, m));
      assertTrue(e.getMessage().contains("uses another tokenizer"), e.getMessage());
    }
  }

  @Test
  void aBaseWithoutHeldOutDocuments_isRefused(@TempDir Path tmp) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> HeldOutText.of(tmp, TinyTeacher.CORPUS, 64, 2));
    assertTrue(e.getMessage().contains("records no held-out documents (heldout.json)"), e.getMessage());
  }
}
