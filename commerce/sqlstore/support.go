package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/liveshop/liveshop/commerce"
)

// AddMessage implements commerce.SupportStore.
func (db *DB) AddMessage(ctx context.Context, m *commerce.SupportMessage) error {
	return db.get(ctx, `INSERT INTO order_messages (order_id, author_id, author_role, body, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		[]any{m.OrderID, m.AuthorID, m.AuthorRole, m.Body, micros(m.CreatedAt)}, &m.ID)
}

// Messages implements commerce.SupportStore.
func (db *DB) Messages(ctx context.Context, orderID, afterID int64, limit int) ([]commerce.SupportMessage, error) {
	rows, err := db.query(ctx, `SELECT m.id, m.order_id, m.author_id, a.name, m.author_role, m.body, m.created_at
		FROM order_messages m JOIN accounts a ON a.id = m.author_id
		WHERE m.order_id = ? AND m.id > ? ORDER BY m.id LIMIT ?`, orderID, afterID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []commerce.SupportMessage
	for rows.Next() {
		var m commerce.SupportMessage
		var at int64
		if err := rows.Scan(&m.ID, &m.OrderID, &m.AuthorID, &m.AuthorName, &m.AuthorRole, &m.Body, &at); err != nil {
			return nil, err
		}
		m.CreatedAt = fromMicros(at)
		out = append(out, m)
	}
	return out, rows.Err()
}

// CreateReview implements commerce.ReviewStore.
func (db *DB) CreateReview(ctx context.Context, r *commerce.Review) error {
	return db.inTx(ctx, func(tx conn) error {
		err := tx.get(ctx, `SELECT o.id FROM orders o JOIN order_lines l ON l.order_id = o.id
			WHERE o.buyer_id = ? AND l.product_id = ? AND o.status = ? ORDER BY o.id LIMIT 1`,
			[]any{r.AuthorID, r.ProductID, commerce.OrderDelivered}, &r.OrderID)
		if errors.Is(err, commerce.ErrNotFound) {
			return commerce.ErrNotEligible
		}
		if err != nil {
			return err
		}
		err = tx.get(ctx, `INSERT INTO reviews (product_id, order_id, author_id, rating, body, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			[]any{r.ProductID, r.OrderID, r.AuthorID, r.Rating, r.Text, micros(r.CreatedAt)}, &r.ID)
		if isUniqueViolation(err) {
			return commerce.ErrAlreadyReviewed
		}
		if err != nil {
			return fmt.Errorf("insert review: %w", err)
		}
		_, err = tx.exec(ctx, "UPDATE products SET rating_count = rating_count + 1, rating_sum = rating_sum + ? WHERE id = ?",
			r.Rating, r.ProductID)
		return err
	})
}

// Reviews implements commerce.ReviewStore.
func (db *DB) Reviews(ctx context.Context, productID, beforeID int64, limit int) ([]commerce.Review, error) {
	if beforeID <= 0 {
		beforeID = maxID
	}
	rows, err := db.query(ctx, `SELECT r.id, r.product_id, r.order_id, r.author_id, a.name, r.rating, r.body, r.created_at
		FROM reviews r JOIN accounts a ON a.id = r.author_id
		WHERE r.product_id = ? AND r.id < ? ORDER BY r.id DESC LIMIT ?`, productID, beforeID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []commerce.Review
	for rows.Next() {
		var r commerce.Review
		var at int64
		if err := rows.Scan(&r.ID, &r.ProductID, &r.OrderID, &r.AuthorID, &r.AuthorName, &r.Rating, &r.Text, &at); err != nil {
			return nil, err
		}
		r.CreatedAt = fromMicros(at)
		out = append(out, r)
	}
	return out, rows.Err()
}
