package dev.graft.trainer.distill;

/**
 * Which documents a run evaluates on, and whether the teacher is known never to have trained on
 * them.
 *
 * @param documents held-out documents
 * @param recordedByTeacher true when they are the documents the teacher recorded as held out
 *     ({@code heldout.json}); false when the run split the corpus itself, so some may have been
 *     in the teacher's training data
 * @param sha256 a digest of their sorted ids
 */
public record EvaluationSet(int documents, boolean recordedByTeacher, String sha256) {

  /** One sentence for reports. */
  public String describe() {
    return recordedByTeacher
        ? documents + " documents the teacher held out in pretraining (heldout.json, sha256 "
            + sha256.substring(0, 12) + ")"
        : documents + " documents held out by data.validation_fraction and data.split_seed; the teacher"
            + " did not record its held-out documents, so contamination cannot be ruled out";
  }
}
