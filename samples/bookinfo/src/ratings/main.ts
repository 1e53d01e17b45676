// ratings: book ratings for the reviews service (Istio Bookinfo's ratings service).
import { runService } from '../shared/service-process.js';
import { createRatingsService, ratingsConfigFromEnv } from './ratings-handler.js';

const service = createRatingsService(ratingsConfigFromEnv(process.env));
runService('ratings', service.handler).on('close', () => service.close());
