package dev.graft.trainer.distill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.graft.checkpoint.HfCheckpoint;
import dev.graft.data.PackedSequences;
import dev.graft.data.SequencePacker;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import dev.graft.model.VocabBudget;
import dev.graft.teacher.server.LocalTeacher;
import dev.graft.tokenizer.BpeModel;
import dev.graft.tokenizer.GraftTokenizer;
import dev.graft.trainer.pretrain.LmEvaluator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The evaluations give the same figures whether the head runs over a whole batch or one position
 * at a time (a budget below one row of the vocabulary). Tolerance: 1e-5 relative on sums of
 * per-position float32 values (only the grouping of the head's products differs); counts exactly.
 */
class EvaluatorChunkingTest {

  private static final VocabBudget BELOW_ONE_ROW = new VocabBudget(100);
  private static final VocabBudget WHOLE = VocabBudget.ofMegabytes(64, "budget");

  private static LocalTeacher teacher;
  private static GraftTokenizer tok;
  private static PackedSequences heldOut;
  private static NDManager manager;
  private static LlamaModel student;

  @BeforeAll
  static void load() throws Exception {
    teacher = LocalTeacher.load(TinyTeacher.dir());
    tok = GraftTokenizer.load(TinyTeacher.dir().resolve(BpeModel.TOKENIZER_JSON));
    heldOut = new SequencePacker(24, tok.bosId(), tok.eosId(), tok.eosId())
        .pack(TinyTeacher.CORPUS.subList(0, 8), tok::encode, SequencePacker.Tail.PAD);
    LlamaConfig config = LlamaConfig.read(TinyTeacher.dir().resolve(HfCheckpoint.CONFIG_FILE));
    manager = NDManager.newBaseManager();
    student = LlamaModel.random(config, manager, 5); // not the teacher: a real KL
  }

  @AfterAll
  static void close() {
    manager.close();
    tok.close();
    teacher.close();
  }

  @Test
  void distillEvaluator_belowOneRow_equalsWholeBatch() {
    DistillEvaluator whole = new DistillEvaluator(heldOut, 6, 4, teacher, WHOLE);
    DistillEvaluator chunked = new DistillEvaluator(heldOut, 6, 4, teacher, BELOW_ONE_ROW);
    EvalMetrics a = whole.evaluate(student).overall();
    EvalMetrics b = chunked.evaluate(student).overall();
    assertTrue(a.tokens() > 0 && a.kl() > 0.01, "a real comparison: " + a);
    assertEquals(a.tokens(), b.tokens());
    assertEquals(a.agree(), b.agree());
    assertEquals(a.kl(), b.kl(), 1e-5 * a.kl());
    assertEquals(a.studentNll(), b.studentNll(), 1e-5 * a.studentNll());
    assertEquals(a.teacherNll(), b.teacherNll(), 1e-5 * a.teacherNll());
    double d = whole.maxLogProbDifference(student, 6);
    assertEquals(d, chunked.maxLogProbDifference(student, 6), 1e-5 * d);
  }

  @Test
  void lmEvaluator_belowOneRow_equalsWholeBatch() {
    LmEvaluator.Score a = new LmEvaluator(4, WHOLE).evaluate(student, heldOut, 0).overall();
    LmEvaluator.Score b = new LmEvaluator(4, BELOW_ONE_ROW).evaluate(student, heldOut, 0).overall();
    assertEquals(a.tokens(), b.tokens());
    assertEquals(a.nll(), b.nll(), 1e-5 * a.nll());
  }

  @Test
  void continuationEvaluator_belowOneRow_equalsWholeBatch() {
    ContinuationEvaluator.Metrics a = continuations(WHOLE);
    ContinuationEvaluator.Metrics b = continuations(BELOW_ONE_ROW);
    assertTrue(a.tokens() > 0 && a.reverseKlSum() > 0.01, "a real comparison: " + a);
    assertEquals(a.tokens(), b.tokens(), "the same continuations are written");
    assertEquals(a.teacherNllSum(), b.teacherNllSum(), 1e-5 * a.teacherNllSum());
    assertEquals(a.reverseKlSum(), b.reverseKlSum(), 1e-5 * a.reverseKlSum());
  }

  private static ContinuationEvaluator.Metrics continuations(VocabBudget budget) {
    return ContinuationEvaluator.of(TinyTeacher.CORPUS.subList(0, 12), tok::encode, tok.bosId(), tok.eosId(),
        8, 16, 5, 4, teacher, budget).evaluate(student).overall();
  }
}
