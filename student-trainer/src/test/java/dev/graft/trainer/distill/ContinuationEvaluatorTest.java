package dev.graft.trainer.distill;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.graft.checkpoint.HfCheckpoint;
import dev.graft.data.Document;
import dev.graft.model.LlamaConfig;
import dev.graft.model.LlamaModel;
import dev.graft.retrofit.RetrofitStudent;
import dev.graft.teacher.server.LocalTeacher;
import dev.graft.tokenizer.BpeModel;
import dev.graft.tokenizer.GraftTokenizer;
import dev.graft.trainer.plan.RunConfig;
import dev.graft.trainer.plan.RunPlan;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ContinuationEvaluatorTest {

  private static LocalTeacher teacher;
  private static GraftTokenizer tok;

  @BeforeAll
  static void load() throws Exception {
    teacher = LocalTeacher.load(TinyTeacher.dir());
    tok = GraftTokenizer.load(TinyTeacher.dir().resolve(BpeModel.TOKENIZER_JSON));
  }

  @AfterAll
  static void close() {
    tok.close();
    teacher.close();
  }

  private static ContinuationEvaluator evaluator(int count) {
    List<Document> heldOut = TinyTeacher.CORPUS.subList(0, 12);
    return ContinuationEvaluator.of(heldOut, tok::encode, tok.bosId(), tok.eosId(), 8, 24, count, 4, teacher);
  }

  @Test
  void theTeachersOwnContinuations_haveZeroReverseKl_andAnUntrainedGqaStudentsDoNot() throws Exception {
    ContinuationEvaluator eval = evaluator(6);
    assertEquals(6, eval.prompts());
    LlamaConfig config = LlamaConfig.read(TinyTeacher.dir().resolve(HfCheckpoint.CONFIG_FILE));
    RunPlan plan = RunPlan.of(RunConfig.load(null, TinyTeacher.overrides("retrofit.kv_heads=1")));
    try (NDManager m = NDManager.newBaseManager();
        RetrofitStudent student = plan.retrofit().change().build(config,
            HfCheckpoint.loadTensors(TinyTeacher.dir(), config, m), m)) {
      student.setAllAlphas(0); // the teacher's function
      ContinuationEvaluator.Result self = eval.evaluate(student.model());
      assertTrue(self.overall().tokens() > 0 && self.overall().tokens() <= 6 * 24, "tokens " + self.overall());
      assertEquals(0, self.overall().reverseKl(), 1e-5, "the teacher judging its own writing");
      assertTrue(self.overall().teacherNll() > 0 && Double.isFinite(self.overall().teacherNll()));
      assertEquals(self.overall().tokens(), self.byDomain().values().stream()
          .mapToLong(ContinuationEvaluator.Metrics::tokens).sum(), "domains add up to the whole");
      assertEquals(3, self.byDomain().size(), "prompts taken round-robin over the three domains");
      assertEquals(self, eval.evaluate(student.model()), "same prompts and seeds, same result");

      student.setAllAlphas(1); // the untrained MQA student
      ContinuationEvaluator.Result untrained = eval.evaluate(student.model());
      assertTrue(untrained.overall().reverseKl() > 0.01, "reverse KL " + untrained.overall().reverseKl());
      assertTrue(untrained.overall().teacherNll() > self.overall().teacherNll(),
          "the teacher finds the untrained student's writing less likely than its own: "
              + untrained.overall().teacherNll() + " vs " + self.overall().teacherNll());
    }
  }

  @Test
  void generation_stopsAtTheStopToken_andNothingAfterItIsScored() throws Exception {
    // The corpus's commonest token stands in for EOS, so that many continuations stop early.
    java.util.Map<Integer, Integer> counts = new java.util.HashMap<>();
    for (Document d : TinyTeacher.CORPUS) {
      for (int id : tok.encode(d.text())) {
        counts.merge(id, 1, Integer::sum);
      }
    }
    int stop = counts.entrySet().stream().max(java.util.Map.Entry.comparingByValue()).orElseThrow().getKey();
    ContinuationEvaluator eval = ContinuationEvaluator.of(TinyTeacher.CORPUS.subList(0, 12), tok::encode,
        tok.bosId(), stop, 8, 24, 8, 4, teacher);
    LlamaConfig config = LlamaConfig.read(TinyTeacher.dir().resolve(HfCheckpoint.CONFIG_FILE));
    try (NDManager m = NDManager.newBaseManager();
        LlamaModel model = LlamaModel.fromTensors(config, m, HfCheckpoint.loadTensors(TinyTeacher.dir(), config, m))) {
      List<int[]> written = eval.continuations(model);
      assertEquals(8, written.size());
      long tokens = 0;
      int stopped = 0;
      for (int[] g : written) {
        int first = -1;
        for (int j = 0; j < g.length && first < 0; j++) {
          first = g[j] == stop ? j : -1;
        }
        assertTrue(first == g.length - 1 || (first == -1 && g.length == 24), java.util.Arrays.toString(g));
        stopped += first >= 0 ? 1 : 0;
        tokens += g.length;
      }
      assertTrue(stopped > 0, "no continuation met the stop token " + stop);
      assertEquals(tokens, eval.evaluate(model).overall().tokens(), "exactly the written tokens are scored");
    }
  }

  @Test
  void stoppingAlsoAt_endsContinuationsAtAnyIdOfTheList_asAtTheTokenizersEos() throws Exception {
    // A config's eos list names ids the tokenizer's one eos does not: the commonest token stands in.
    java.util.Map<Integer, Integer> counts = new java.util.HashMap<>();
    for (Document d : TinyTeacher.CORPUS) {
      for (int id : tok.encode(d.text())) {
        counts.merge(id, 1, Integer::sum);
      }
    }
    int listed = counts.entrySet().stream().max(java.util.Map.Entry.comparingByValue()).orElseThrow().getKey();
    List<Document> heldOut = TinyTeacher.CORPUS.subList(0, 12);
    ContinuationEvaluator single = ContinuationEvaluator.of(heldOut, tok::encode, tok.bosId(), listed, 8, 24, 8, 4,
        teacher);
    ContinuationEvaluator list = ContinuationEvaluator.of(heldOut, tok::encode, tok.bosId(), tok.eosId(), 8, 24, 8,
        4, teacher).stoppingAlsoAt(listed);
    LlamaConfig config = LlamaConfig.read(TinyTeacher.dir().resolve(HfCheckpoint.CONFIG_FILE));
    try (NDManager m = NDManager.newBaseManager();
        LlamaModel model = LlamaModel.fromTensors(config, m, HfCheckpoint.loadTensors(TinyTeacher.dir(), config, m))) {
      List<int[]> byList = list.continuations(model);
      List<int[]> bySingle = single.continuations(model);
      int stopped = 0;
      for (int i = 0; i < byList.size(); i++) {
        int[] g = byList.get(i);
        for (int j = 0; j < g.length - 1; j++) {
          assertTrue(g[j] != listed && g[j] != tok.eosId(), "continued past a stop id: " + java.util.Arrays.toString(g));
        }
        boolean endsAtListed = g[g.length - 1] == listed;
        stopped += endsAtListed ? 1 : 0;
        if (java.util.Arrays.stream(g).noneMatch(id -> id == tok.eosId())) {
          assertArrayEquals(bySingle.get(i), g, "same draws, same stop, when the tokenizer's eos never comes");
        }
      }
      assertTrue(stopped > 0, "no continuation ended at the listed id " + listed);
    }
  }
}
