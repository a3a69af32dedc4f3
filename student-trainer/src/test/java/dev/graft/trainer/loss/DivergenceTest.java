package dev.graft.trainer.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullSource;
import org.junit.jupiter.params.provider.ValueSource;

class DivergenceTest {

  @Test
  void parse_everySpelling_givesItsType() {
    assertEquals(new Divergence.ForwardKl(), Divergence.parse("forward_kl"));
    assertEquals(new Divergence.ReverseKl(), Divergence.parse("reverse_kl"));
    assertEquals(new Divergence.Jsd(0.5), Divergence.parse("jsd:0.5"));
    assertEquals(new Divergence.SkewKl(0.1), Divergence.parse("skew_kl:0.1"));
    assertEquals(new Divergence.SkewKl(0.0), Divergence.parse("skew_kl:0"));
    assertEquals(new Divergence.TotalVariation(), Divergence.parse("tv"));
    assertEquals(new Divergence.CrossEntropy(), Divergence.parse("ce"));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "forward_kl",
        "reverse_kl",
        "tv",
        "ce",
        "jsd:0.5",
        "jsd:0.3",
        "jsd:1.0E-4",
        "jsd:0.999",
        "skew_kl:0.0",
        "skew_kl:0.1",
        "skew_kl:0.95",
        "skew_kl:1.0E-6"
      })
  void spec_thenParse_givesAnEqualValueAndTheSameSpec(String spec) {
    Divergence d = Divergence.parse(spec);
    assertEquals(d, Divergence.parse(d.spec()));
    assertEquals(d.spec(), Divergence.parse(d.spec()).spec());
  }

  @Test
  void spec_isTheCanonicalSpelling() {
    assertEquals("forward_kl", new Divergence.ForwardKl().spec());
    assertEquals("reverse_kl", new Divergence.ReverseKl().spec());
    assertEquals("jsd:0.5", new Divergence.Jsd(0.5).spec());
    assertEquals("skew_kl:0.1", new Divergence.SkewKl(0.1).spec());
    assertEquals("tv", new Divergence.TotalVariation().spec());
    assertEquals("ce", new Divergence.CrossEntropy().spec());
  }

  @ParameterizedTest
  @ValueSource(strings = {"  FORWARD_KL ", "Forward_Kl", "\tforward_kl\n"})
  void parse_ignoresCaseAndSurroundingBlanks(String spec) {
    assertEquals(new Divergence.ForwardKl(), Divergence.parse(spec));
  }

  @ParameterizedTest
  @ValueSource(strings = {" JSD:0.25 ", "jsd : 0.25", "Jsd:  0.25", "jsd:2.5e-1", "jsd:.25"})
  void parse_parameterTolerantOfCaseBlanksAndNumberForms(String spec) {
    assertEquals(new Divergence.Jsd(0.25), Divergence.parse(spec));
  }

  @Test
  void usesTeacher_isFalseOnlyForCrossEntropy() {
    assertFalse(Divergence.parse("ce").usesTeacher());
    LossFixtures.divergences().forEach(d -> assertTrue(d.usesTeacher(), d.spec()));
  }

  @ParameterizedTest
  @NullSource
  @ValueSource(strings = {"", "   "})
  void parse_emptyOrNull_namesTheChoices(String spec) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Divergence.parse(spec));
    assertEquals("divergence is empty; expected one of " + Divergence.CHOICES, e.getMessage());
  }

  @Test
  void parse_unknownName_quotesItAndNamesTheChoices() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Divergence.parse("kl"));
    assertEquals("unknown divergence 'kl'; expected one of " + Divergence.CHOICES, e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> Divergence.parse("wasserstein:2"));
    assertEquals(
        "unknown divergence 'wasserstein:2'; expected one of " + Divergence.CHOICES,
        e.getMessage());
  }

  @Test
  void choices_listEverySpelling() {
    assertEquals(
        "forward_kl, reverse_kl, jsd:<beta in (0,1)>, skew_kl:<alpha in [0,1)>, tv, ce",
        Divergence.CHOICES);
  }

  @ParameterizedTest
  @ValueSource(strings = {"forward_kl", "reverse_kl", "tv", "ce"})
  void parse_superfluousParameter_saysHowToWriteIt(String name) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Divergence.parse(name + ":0.5"));
    assertEquals(
        name + " takes no parameter, got '" + name + ":0.5'; write '" + name + "'", e.getMessage());
    // An empty parameter after the colon is still a parameter.
    assertThrows(IllegalArgumentException.class, () -> Divergence.parse(name + ":"));
  }

  @Test
  void parse_missingParameter_givesAnExample() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Divergence.parse("jsd"));
    assertEquals("jsd needs a parameter beta, got 'jsd'; write e.g. 'jsd:0.5'", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> Divergence.parse("skew_kl: "));
    assertEquals(
        "skew_kl needs a parameter alpha, got 'skew_kl: '; write e.g. 'skew_kl:0.1'",
        e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"NaN", "Infinity", "-Infinity", "0.5f", "0.5d", "0x1p-1", "1/2", "50%", "0,5"})
  void parse_parameterNotADecimalNumber_isRejected(String arg) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Divergence.parse("jsd:" + arg));
    assertEquals(
        "jsd parameter beta must be a number, got '"
            + arg.toLowerCase(Locale.ROOT)
            + "' in 'jsd:"
            + arg
            + "'",
        e.getMessage());
  }

  @Test
  void parse_negativeZeroAlpha_isSkewKlAtZero() {
    Divergence d = Divergence.parse("skew_kl:-0");
    assertEquals(new Divergence.SkewKl(0.0), d);
    assertEquals("skew_kl:0.0", d.spec());
  }

  @Test
  void parse_nonNumericParameter_quotesIt() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Divergence.parse("jsd:half"));
    assertEquals("jsd parameter beta must be a number, got 'half' in 'jsd:half'", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> Divergence.parse("skew_kl:0.1:0.2"));
    assertEquals(
        "skew_kl parameter alpha must be a number, got '0.1:0.2' in 'skew_kl:0.1:0.2'",
        e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"jsd:0", "jsd:1", "jsd:-0.1", "jsd:1.5", "jsd:1e-400", "jsd:1e400"})
  void parse_jsdBetaOutsideOpenUnitInterval_pointsToTheLimits(String spec) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Divergence.parse(spec));
    assertTrue(e.getMessage().startsWith("jsd beta must be in (0, 1), got "), e.getMessage());
    assertTrue(
        e.getMessage()
            .endsWith("; for the limits use forward_kl (beta -> 0) or reverse_kl (beta -> 1)"),
        e.getMessage());
  }

  @Test
  void jsd_messageCarriesTheValue() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> new Divergence.Jsd(1.5));
    assertEquals(
        "jsd beta must be in (0, 1), got 1.5; for the limits use forward_kl (beta -> 0) or"
            + " reverse_kl (beta -> 1)",
        e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"skew_kl:1", "skew_kl:-0.1", "skew_kl:2", "skew_kl:-1e400"})
  void parse_skewAlphaOutsideHalfOpenUnitInterval_explainsTheEnds(String spec) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Divergence.parse(spec));
    assertTrue(e.getMessage().startsWith("skew_kl alpha must be in [0, 1), got "), e.getMessage());
    assertTrue(
        e.getMessage()
            .endsWith("; alpha = 0 is forward_kl and alpha = 1 would make the loss identically 0"),
        e.getMessage());
  }

  @Test
  void skewKl_messageCarriesTheValue() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> new Divergence.SkewKl(1.0));
    assertEquals(
        "skew_kl alpha must be in [0, 1), got 1.0; alpha = 0 is forward_kl and alpha = 1 would"
            + " make the loss identically 0",
        e.getMessage());
  }

  @Test
  void parse_rangeEndpointsJustInside_areAccepted() {
    assertEquals(new Divergence.Jsd(Math.ulp(0.0)), Divergence.parse("jsd:" + Math.ulp(0.0)));
    assertEquals(
        new Divergence.Jsd(Math.nextDown(1.0)), Divergence.parse("jsd:" + Math.nextDown(1.0)));
    assertEquals(
        new Divergence.SkewKl(Math.nextDown(1.0)),
        Divergence.parse("skew_kl:" + Math.nextDown(1.0)));
  }
}
