package dev.graft.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BrownFormatTest {

  static String sample() throws IOException {
    try (InputStream in = BrownFormatTest.class.getResourceAsStream("brown-sample")) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  static final String SAMPLE_TEXT =
      "The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary"
          + " election produced \"no evidence\" that any irregularities took place. It cost 1/2 a"
          + " cent (or less); Ivan Allen Jr. didn't say.\n"
          + "He asked, \"Why not 'vote'?\" No!\n"
          + "Merger proposed\n"
          + "However, the jury said it believes \"these two offices should be combined\". The mayor"
          + " is Ivan Allen Jr.";

  @Test
  void toText_taggedSample_dropsTagsAndKeepsParagraphsAndHeadlines() throws IOException {
    assertEquals(SAMPLE_TEXT, BrownFormat.toText("ca01", sample()));
  }

  @Test
  void toText_tokenWithoutTag_namesSourceAndLine() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> BrownFormat.toText("cb07", "\n\tGood/jj words/nns\nbroken ./.\n"));
    assertEquals("cb07 line 3: token 'broken' is not word/tag", e.getMessage());
  }

  @Test
  void genreOf_letterCode_givesItsGenre() {
    assertEquals("news", BrownFormat.genreOf("ca01"));
    assertEquals("editorial", BrownFormat.genreOf("cb27"));
    assertEquals("learned", BrownFormat.genreOf("cj80"));
    assertEquals("science_fiction", BrownFormat.genreOf("cm06"));
    assertEquals("romance", BrownFormat.genreOf("cp29"));
    assertEquals("humor", BrownFormat.genreOf("cr09"));
    assertEquals(15, BrownFormat.GENRES.size());
  }

  @Test
  void genreOf_nameThatIsNoBrownFile_isRejected() {
    assertThrows(IllegalArgumentException.class, () -> BrownFormat.genreOf("ci01"));
    assertThrows(IllegalArgumentException.class, () -> BrownFormat.genreOf("README"));
  }

  @Test
  void parseCategories_catsTxt_mapsIdToGenre() {
    Map<String, String> genres = BrownFormat.parseCategories("ca01 news\ncr09 humor\n\n");
    assertEquals(Map.of("ca01", "news", "cr09", "humor"), genres);
  }

  @Test
  void parseCategories_malformedLine_namesLine() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> BrownFormat.parseCategories("ca01 news\nca02\n"));
    assertTrue(e.getMessage().startsWith("cats.txt line 2:"), e.getMessage());
  }
}
