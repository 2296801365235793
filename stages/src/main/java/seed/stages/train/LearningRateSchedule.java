package seed.stages.train;

/**
 * Linear warm-up to the peak rate, then cosine decay to {@code minRate} at {@code totalSteps}: the schedule of GPT-2
 * style training. A record so it is printed and saved with the settings.
 */
public record LearningRateSchedule(float peakRate, float minRate, int warmupSteps, int totalSteps) {

    /** The rate for optimizer step {@code step} (0-based). */
    public float at(int step) {
        if (step < warmupSteps) {
            return peakRate * (step + 1) / warmupSteps;
        }
        if (step >= totalSteps) {
            return minRate;
        }
        double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
        return (float) (minRate + 0.5 * (peakRate - minRate) * (1 + Math.cos(Math.PI * progress)));
    }
}
