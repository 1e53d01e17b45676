// productpage: the Bookinfo web page and its JSON API (Istio Bookinfo's productpage service).
import { runService } from '../shared/service-process.js';
import { createProductPageHandler, productPageConfigFromEnv } from './productpage-handler.js';

runService('productpage', createProductPageHandler(productPageConfigFromEnv(process.env)));
