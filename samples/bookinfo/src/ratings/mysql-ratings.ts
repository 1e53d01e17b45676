import type http from 'node:http';
import mysql from 'mysql2';
import { replyJson } from '../shared/replies.js';

/** Connection settings of ratings v2 with DB_TYPE=mysql (the database is always `test`). */
export interface MysqlSettings {
  host: string | undefined;
  port: number | undefined;
  user: string | undefined;
  password: string | undefined;
}

export function mysqlSettingsFromEnv(env: NodeJS.ProcessEnv): MysqlSettings {
  const port = env.MYSQL_DB_PORT === undefined || env.MYSQL_DB_PORT === '' ? undefined : Number(env.MYSQL_DB_PORT);
  return {
    host: env.MYSQL_DB_HOST,
    port: port !== undefined && Number.isInteger(port) ? port : undefined,
    user: env.MYSQL_DB_USER,
    password: env.MYSQL_DB_PASSWORD,
  };
}

/**
 * Answers GET /ratings/<id> from MySQL like the original: a new connection per request (no pool),
 * `SELECT Rating FROM ratings`, rows 0 and 1 as Reviewer1 and Reviewer2 (missing → 0).
 * A connect failure writes the error body WITHOUT a status or Content-Type (so HTTP 200, as the
 * original does); a failed query is a 500.
 */
export function replyFromMysql(res: http.ServerResponse, productId: number, settings: MysqlSettings): void {
  let connection: mysql.Connection;
  try {
    connection = mysql.createConnection({ ...settings, database: 'test' });
  } catch (err) {
    console.error(`ratings: cannot create a MySQL connection: ${(err as Error).message}`);
    res.end(JSON.stringify({ error: 'could not connect to ratings database' }));
    return;
  }
  connection.on('error', (err) => console.error(`ratings: MySQL connection error: ${err.message}`));
  connection.connect((connectError) => {
    if (connectError) {
      console.error(`ratings: could not connect to the database: ${connectError.message}`);
      res.end(JSON.stringify({ error: 'could not connect to ratings database' }));
      return;
    }
    connection.query('SELECT Rating FROM ratings', (queryError, results) => {
      if (queryError) {
        console.error(`ratings: select failed: ${queryError.message}`);
        replyJson(res, 500, JSON.stringify({ error: 'could not perform select' }));
        return;
      }
      const rows = Array.isArray(results) ? (results as Array<{ Rating?: unknown }>) : [];
      const result = {
        id: productId,
        ratings: { Reviewer1: rows[0]?.Rating ?? 0, Reviewer2: rows[1]?.Rating ?? 0 },
      };
      replyJson(res, 200, JSON.stringify(result));
    });
    connection.end();
  });
}
