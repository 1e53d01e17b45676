/** The two reviews every product has. */
export const REVIEWS = [
  {
    reviewer: 'Reviewer1',
    text: 'An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!',
  },
  {
    reviewer: 'Reviewer2',
    text: 'Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.',
  },
] as const;

export const RATINGS_UNAVAILABLE = 'Ratings service is currently unavailable';

/** A reviewer's stars, or undefined when ratings could not be had for that reviewer. */
export type StarsByReviewer = Partial<Record<(typeof REVIEWS)[number]['reviewer'], number>>;

export interface ReviewsIdentity {
  /** HOSTNAME, or the string "null" when unset. */
  podname: string;
  /** CLUSTER_NAME, or the string "null" when unset. */
  clustername: string;
}

/**
 * The reviews reply. `id` is a JSON string; `rating` appears only when ratings are enabled, as
 * stars and colour, or as the unavailable error when that reviewer's stars are missing.
 */
export function reviewsJson(
  productId: number,
  identity: ReviewsIdentity,
  ratings: { enabled: boolean; color: string; stars: StarsByReviewer },
): string {
  return JSON.stringify({
    id: String(productId),
    podname: identity.podname,
    clustername: identity.clustername,
    reviews: REVIEWS.map((review) => {
      if (!ratings.enabled) return { reviewer: review.reviewer, text: review.text };
      const stars = ratings.stars[review.reviewer];
      const rating = stars === undefined ? { error: RATINGS_UNAVAILABLE } : { stars, color: ratings.color };
      return { reviewer: review.reviewer, text: review.text, rating };
    }),
  });
}
