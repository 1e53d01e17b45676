// reviews: book reviews, with ratings stars from v2 (black) and v3 (red) (Istio Bookinfo's reviews service).
import { runService } from '../shared/service-process.js';
import { createReviewsHandler, reviewsConfigFromEnv } from './reviews-handler.js';

runService('reviews', createReviewsHandler(reviewsConfigFromEnv(process.env)));
