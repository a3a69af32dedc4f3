package dev.graft.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** A seeded English-like corpus with some other scripts mixed in, for tokenizer tests. */
final class TestCorpus {

  static final String[] WORDS = (
      "the of and to in is was that for it with as on be at by this had not are but from or have"
          + " an they which one you were her all she there would their we him been has when who"
          + " will more no if out so said what up its about into than them can only other new"
          + " some could time these two may then do first any my now such like our over man me"
          + " even most made after also did many before must through back years where much your"
          + " way well down should because each just those people how too little state good very"
          + " make world still own see men work long get here between both life being under never"
          + " day same another know while last might us great old year off come since against go"
          + " came right used take three language model tokenizer teacher student distillation"
          + " attention layer weight gradient").split(" ");

  private static final String[] OTHER_SCRIPTS = {
    "Ο γρήγορος καφέ αλεπού πηδά πάνω από τον τεμπέλη σκύλο.",
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "我们在北京学习中文，今天天气很好。",
    "日本語のテキストも少し入れておきます。",
    "مرحبا بالعالم، هذا نص عربي قصير.",
    "Zoë's café serves crème brûlée à la française.",
  };

  private TestCorpus() {}

  /** {@code count} documents of a few random sentences each; the same for the same seed. */
  static List<String> documents(int count, long seed) {
    Random random = new Random(seed);
    List<String> docs = new ArrayList<>();
    for (int d = 0; d < count; d++) {
      StringBuilder doc = new StringBuilder();
      int sentences = 2 + random.nextInt(4);
      for (int s = 0; s < sentences; s++) {
        doc.append(sentence(random)).append(random.nextInt(5) == 0 ? "\n" : " ");
      }
      if (random.nextInt(4) == 0) {
        doc.append(OTHER_SCRIPTS[random.nextInt(OTHER_SCRIPTS.length)]);
      }
      docs.add(doc.toString());
    }
    return docs;
  }

  private static String sentence(Random random) {
    // Zipf-like: low indices (the, of, and ...) come up far more often.
    int length = 4 + random.nextInt(12);
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < length; i++) {
      int index = (int) (WORDS.length * Math.pow(random.nextDouble(), 2.5));
      String word = WORDS[index];
      s.append(i == 0 ? Character.toUpperCase(word.charAt(0)) + word.substring(1) : " " + word);
      if (i > 0 && i < length - 1 && random.nextInt(10) == 0) {
        s.append(',');
      }
    }
    return s.append(random.nextInt(6) == 0 ? "?" : ".").toString();
  }
}
