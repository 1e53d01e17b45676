// details: book details for the product page (Istio Bookinfo's details service).
import { runService } from '../shared/service-process.js';
import { createDetailsHandler, detailsConfigFromEnv } from './details-handler.js';

runService('details', createDetailsHandler(detailsConfigFromEnv(process.env)));
