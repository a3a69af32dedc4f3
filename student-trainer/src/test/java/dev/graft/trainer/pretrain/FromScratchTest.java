package dev.graft.trainer.pretrain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.graft.model.LlamaConfig;
import dev.graft.trainer.data.HeldOut;
import dev.graft.trainer.distill.TinyTeacher;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FromScratchTest {

  @Test
  void runs_holdOutTheBasesDocuments_andScoreOnItsText_seedByseed(@TempDir Path tmp) throws Exception {
    Path base = TinyTeacher.dir(); // split 0.1 with seed 1234, tokenizer beside the model
    FromScratch scratch = FromScratch.of(TinyTeacher.CORPUS, base, 0.1, 1234, 64);
    PretrainConfig cfg = PretrainConfig.defaults().withSteps(3).withBatch(4, 4).withSeqLen(64).withLr(3e-3, 1)
        .withIntervals(0, 4, 0);
    LlamaConfig arch = LlamaConfig.tiny(LlamaConfig.read(base.resolve("config.json")).vocabSize())
        .withNumKeyValueHeads(1);
    HeldOutText text = HeldOutText.of(base, TinyTeacher.CORPUS, 64, 4);
    try (NDManager m = NDManager.newBaseManager()) {
      Path a = tmp.resolve("a");
      Path b = tmp.resolve("b");
      assertFalse(FromScratch.isComplete(a));
      assertEquals(3, scratch.run(arch, cfg, tmp.resolve("run-a"), a, m, new Pretrainer.Listener() {}).steps());
      scratch.run(arch, cfg.withSeed(99), tmp.resolve("run-b"), b, m, new Pretrainer.Listener() {});
      assertTrue(FromScratch.isComplete(a));
      assertEquals(HeldOut.read(base).orElseThrow().sha256(), HeldOut.read(a).orElseThrow().sha256());
      assertEquals(1, LlamaConfig.read(a.resolve("config.json")).numKeyValueHeads());
      double la = text.score(a, m).loss();
      double lb = text.score(b, m).loss();
      assertTrue(la > 0 && lb > 0, la + " " + lb);
      assertNotEquals(la, lb); // the seed moves the initialisation and the data order
      assertTrue(Files.readString(a.resolve(FromScratch.DONE)).contains("\"steps\" : 3"));
    }
  }

  @Test
  void aSplitWithoutHeldOutDocuments_isRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> FromScratch.of(TinyTeacher.CORPUS.subList(0, 1), TinyTeacher.dir(), 0.1, 1234, 64));
    assertTrue(e.getMessage().startsWith("the split holds out no document"), e.getMessage());
  }
}
